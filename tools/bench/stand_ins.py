"""The baseline the bench starts next to the service (processes.Fleet.baseline):

    python -m bench.stand_ins baseline --port P --body-size N [--loop asyncio]

A bare aiohttp application: one handler that answers every GET path with the same fixed JSON
body of `--body-size` bytes. No middleware, no access log. It is what aiohttp itself can do on
this machine, and the service's figures are reported as a ratio to it.

It runs on the same event loop as the service (uvloop when it is installed; `--loop asyncio` for
the standard loop) so that the ratio measures the application, not the loop, and stops cleanly on
SIGINT or SIGTERM (support.serving, as the fake upstream does). Only aiohttp and the standard
library: the process imports nothing else. The other stand-in, the fake upstream, is the tests'
own (services/api/tests/support/fake_upstream.py).
"""

from __future__ import annotations

import argparse
import sys

from aiohttp import web
from support.serving import run


def baseline_app(body_size: int) -> web.Application:
    """A bare aiohttp app answering every GET path with one fixed JSON body of `body_size` bytes."""
    prefix, suffix = b'{"padding":"', b'"}'
    padding = body_size - len(prefix) - len(suffix)
    if padding < 0:
        raise SystemExit(f"--body-size must be at least {len(prefix) + len(suffix)}")
    body = prefix + b"x" * padding + suffix

    async def fixed(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/{tail:.*}", fixed)
    return app


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="The bench's baseline server.")
    parser.add_argument("kind", choices=["baseline"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--body-size", type=int, required=True, help="bytes in the fixed body")
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    args = parser.parse_args(argv)
    run(baseline_app(args.body_size), args.host, args.port, args.loop)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
