"""`python -m stock_ticker`: read the environment, then serve until told to stop."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Mapping

from stock_ticker.app import create_app
from stock_ticker.config import ConfigError, load_settings
from stock_ticker.observability.logging import configure_logging
from stock_ticker.server import ListenError, serve
from stock_ticker.workers import WORKER_FLAG, share_metrics, supervise


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where it is installed (it is a pinned dependency on Linux and macOS)."""
    try:
        import uvloop
    except ImportError:  # a platform without uvloop wheels: the standard loop
        return None
    return uvloop.new_event_loop


def main(environ: Mapping[str, str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    environ = os.environ if environ is None else environ
    try:
        settings = load_settings(environ)
    except ConfigError as exc:
        print(f"stock-ticker: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    try:
        if settings.web_concurrency > 1 and WORKER_FLAG not in environ:
            return supervise(settings, environ)
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(serve(share_metrics(create_app(settings), settings, environ), settings))
    except ListenError as exc:
        print(f"stock-ticker: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
