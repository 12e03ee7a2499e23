"""The two stand-in servers the bench starts next to the service (processes.Fleet).

    python -m bench.stand_ins upstream --port P --data-dir DIR [--latency-ms 150]
    python -m bench.stand_ins baseline --port P --body-size N

`upstream` is a fake Alpha Vantage: `GET /query?function=TIME_SERIES_DAILY&symbol=X&...` answers
after a fixed latency with the bundled sample file for X (or, for a symbol with no file, the MSFT
file relabelled, so the harness can always find a cold symbol). It counts calls per symbol and
times each of its own answers; `GET /_stats` returns both as JSON, with the calls open right now
and the seconds since each symbol's last call began or ended. `GET /_control?mode=M` switches
how every later call is answered (issue 9): `ok` (the default), `500` (HTTP 500 at once) or
`hang` (no answer until the caller gives up, the mode changes, or 10 minutes have passed).
upstream_control.py is the bench's side of these two paths.

`baseline` is a bare aiohttp application: one handler that answers every GET path with the same
fixed JSON body of `--body-size` bytes. No middleware, no access log. It is what aiohttp itself
can do on this machine, and the service's figures are reported as a ratio to it.

Both run on the same event loop as the service (uvloop when it is installed; `--loop asyncio`
for the standard loop) so that the ratio measures the application, not the loop. Both stop
cleanly on SIGINT or SIGTERM. Only aiohttp and the standard library: the process imports
nothing else of the bench.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

TEMPLATE_SYMBOL = "MSFT"
MODES = ("ok", "500", "hang")
HANG_POLL_SECONDS = 0.05  # how often a hanging call looks whether its caller has gone
HANG_MAX_SECONDS = 600.0  # a bound: a hanging call never outlives this


def upstream_app(data_dir: Path, latency: float) -> web.Application:
    """A fake Alpha Vantage `TIME_SERIES_DAILY` endpoint with a fixed latency."""
    documents = {
        path.stem.upper(): json.loads(path.read_text()) for path in data_dir.glob("*.json")
    }
    if TEMPLATE_SYMBOL not in documents:
        raise SystemExit(f"{data_dir} has no {TEMPLATE_SYMBOL}.json to serve unknown symbols from")
    bodies: dict[str, bytes] = {}
    calls: Counter[str] = Counter()
    handling: list[float] = []
    open_calls: Counter[str] = Counter()
    last_activity: dict[str, float] = {}
    mode = ["ok"]  # switched by /_control

    def body_for(symbol: str) -> bytes:
        if symbol not in bodies:
            document = json.loads(json.dumps(documents.get(symbol, documents[TEMPLATE_SYMBOL])))
            document["Meta Data"]["2. Symbol"] = symbol
            bodies[symbol] = json.dumps(document).encode()
        return bodies[symbol]

    async def hang(request: web.Request) -> None:
        """Until the caller closes the connection, the mode changes, or the bound passes."""
        bound = time.monotonic() + HANG_MAX_SECONDS
        while mode[0] == "hang" and time.monotonic() < bound:
            if request.transport is None or request.transport.is_closing():
                return
            await asyncio.sleep(HANG_POLL_SECONDS)

    async def query(request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        symbol = request.query.get("symbol", "").upper()
        calls[symbol] += 1
        open_calls[symbol] += 1
        last_activity[symbol] = time.monotonic()
        try:
            if request.query.get("function") != "TIME_SERIES_DAILY" or not symbol:
                return web.json_response({"Error Message": "Invalid API call."})
            if mode[0] == "hang":
                await hang(request)
                if mode[0] == "hang":  # the caller gave up (or the bound passed): nobody reads this
                    return web.Response(status=504)
            if mode[0] == "500":
                return web.Response(status=500, text="Internal Server Error")
            await asyncio.sleep(latency)
            response = web.Response(body=body_for(symbol), content_type="application/json")
            handling.append(time.perf_counter() - started)
            return response
        finally:
            open_calls[symbol] -= 1
            last_activity[symbol] = time.monotonic()

    async def stats(request: web.Request) -> web.Response:
        now = time.monotonic()
        return web.json_response(
            {
                "calls": dict(calls),
                "handling_seconds": handling[-1000:],
                "mode": mode[0],
                "open": {symbol: n for symbol, n in open_calls.items() if n},
                "idle_seconds": {symbol: now - at for symbol, at in last_activity.items()},
            }
        )

    async def control(request: web.Request) -> web.Response:
        wanted = request.query.get("mode", "")
        if wanted not in MODES:
            return web.json_response({"error": f"mode must be one of {MODES}"}, status=400)
        mode[0] = wanted
        return web.json_response({"mode": wanted})

    app = web.Application()
    app.router.add_get("/query", query)
    app.router.add_get("/_stats", stats)
    app.router.add_get("/_control", control)
    return app


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


async def serve(app: web.Application, host: str, port: int) -> None:
    """Serve `app` until SIGINT or SIGTERM."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, host, port, backlog=1024).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"listening on {host}:{port}", flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop]:
    """`uvloop` (what the service runs on, when installed) or the standard `asyncio` loop."""
    if name == "uvloop":
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return uvloop.new_event_loop
    return asyncio.new_event_loop


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="A stand-in server for the bench.")
    parser.add_argument("kind", choices=["upstream", "baseline"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, help="upstream: the Alpha Vantage JSON files")
    parser.add_argument("--latency-ms", type=float, default=150.0, help="upstream: answer delay")
    parser.add_argument("--body-size", type=int, help="baseline: bytes in the fixed body")
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    args = parser.parse_args(argv)
    if args.kind == "upstream":
        if args.data_dir is None:
            parser.error("upstream needs --data-dir")
        app = upstream_app(args.data_dir, args.latency_ms / 1000)
    else:
        if args.body_size is None:
            parser.error("baseline needs --body-size")
        app = baseline_app(args.body_size)
    with asyncio.Runner(loop_factory=loop_factory(args.loop)) as runner:
        runner.run(serve(app, args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
