"""Serve an application with a shutdown that Kubernetes can drain.

aiohttp's `run_app` closes the listener the moment a signal arrives, so a pod that is still in
the Service's endpoints turns requests away. Here SIGTERM first fails readiness, keeps serving for
`SHUTDOWN_DRAIN_SECONDS` while the endpoint is removed, then stops accepting, lets requests in
flight finish, closes connections and the upstream session, and returns. SIGINT (Ctrl-C) skips
the drain; a second signal during the drain ends it early.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal

from aiohttp import web

from stock_ticker.config import Settings
from stock_ticker.web.state import LIFECYCLE

log = logging.getLogger(__name__)

#: How long requests in flight may take to finish once the listener is closed.
IN_FLIGHT_GRACE_SECONDS = 10.0
#: Parser limits above our own (middlewares answer 414/431 problem+json below these).
PARSER_LIMIT_BYTES = 16384


async def serve(app: web.Application, settings: Settings) -> None:
    """Run until SIGTERM or SIGINT, then shut down in order."""
    runner = web.AppRunner(
        app,
        access_log=None,  # the envelope middleware writes the access line
        handle_signals=False,
        shutdown_timeout=IN_FLIGHT_GRACE_SECONDS,
        max_line_size=PARSER_LIMIT_BYTES,
        max_field_size=PARSER_LIMIT_BYTES,
    )
    await runner.setup()
    site = web.TCPSite(
        runner,
        settings.host,
        settings.port,
        reuse_port=settings.web_concurrency > 1,
        backlog=1024,
    )
    signals: asyncio.Queue[signal.Signals] = asyncio.Queue()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, signals.put_nowait, sig)
    try:
        await site.start()
        # What start-up built (modules, schemas, routes, the OpenAPI document) lives as long as
        # the process: frozen, it is left out of every later collection. A full collection
        # over it took 6-10 ms, long enough to show in the tail of a 500-client stampede.
        gc.freeze()
        log.info("listening", extra={"host": settings.host, "port": settings.port})
        received = await signals.get()
        app[LIFECYCLE].draining = True
        if received is signal.SIGTERM and settings.shutdown_drain_seconds > 0:
            log.info("SIGTERM: draining", extra={"seconds": settings.shutdown_drain_seconds})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(signals.get(), settings.shutdown_drain_seconds)
        log.info("stopping: finishing requests in flight")
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await runner.cleanup()
    log.info("stopped")
