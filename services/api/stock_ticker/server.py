"""Serve an application with a shutdown that Kubernetes can drain.

aiohttp's `run_app` closes the listener the moment a signal arrives, so a pod that is still in
the Service's endpoints turns requests away. Here SIGTERM first fails readiness, keeps serving for
`SHUTDOWN_DRAIN_SECONDS` while the endpoint is removed, then stops accepting, lets requests in
flight finish, closes connections and the upstream session, and returns. SIGINT (Ctrl-C) skips
the drain; a second signal during the drain ends it early. From the end of the drain to the
return never takes more than `SHUTDOWN_TIMEOUT_SECONDS`: refreshes still running near its end
are cancelled and their waiters answered (`Quotes.cancel_refreshes_after`, from app.py).

Connections: a client that goes away cancels its request's handler (it stops waiting; a shared
refresh goes on), idle keep-alive connections close after `KEEPALIVE_TIMEOUT_SECONDS`, and the
soft open-files limit is raised to the hard one at start. aiohttp has no separate bound on the
time to receive a request's headers, but its keep-alive timer is one: it runs from the moment a
connection is accepted (or the previous answer ends), bytes arriving do not reset it, and when
it fires a request with incomplete headers is dropped. So a connection that never sends a
request, or trickles its headers, is closed after `KEEPALIVE_TIMEOUT_SECONDS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import logging
import os
import resource
import signal
import socket

from aiohttp import web

from stock_ticker.config import Settings
from stock_ticker.web.state import LIFECYCLE

log = logging.getLogger(__name__)

#: Parser limits above our own (middlewares answer 414/431 problem+json below these).
PARSER_LIMIT_BYTES = 16384


async def serve(app: web.Application, settings: Settings) -> None:
    """Run until SIGTERM or SIGINT, then shut down in order."""
    raise_open_files_limit()
    runner = web.AppRunner(
        app,
        access_log=None,  # the envelope middleware writes the access line
        handle_signals=False,
        handler_cancellation=True,  # a client that left stops waiting (see the docstring)
        keepalive_timeout=settings.keepalive_timeout_seconds,
        shutdown_timeout=settings.shutdown_timeout_seconds,
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
        try:
            await site.start()
        except OSError as exc:
            raise ListenError(settings, exc) from None
        # What start-up built (modules, schemas, routes, the OpenAPI document) lives as long as
        # the process: frozen, it is left out of every later collection. A full collection
        # over it is long enough to show in the tail of a 500-client stampede (docs/benchmarks.md).
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


class ListenError(Exception):
    """The listener could not start: one line naming the variable to change."""

    def __init__(self, settings: Settings, exc: OSError) -> None:
        # An address that does not resolve or is not ours is HOST's fault; the rest (in use,
        # privileged) is PORT's.
        unresolved = isinstance(exc, socket.gaierror)
        variable = "HOST" if unresolved or exc.errno == errno.EADDRNOTAVAIL else "PORT"
        reason = exc.strerror if unresolved or not exc.errno else os.strerror(exc.errno)
        super().__init__(
            f"{variable}: cannot listen on {settings.host}:{settings.port} ({str(reason).lower()})"
        )


def raise_open_files_limit() -> None:
    """Every connection is a file descriptor: use all the hard limit allows, and say so.

    Where the hard limit is unlimited (macOS) the kernel still refuses a soft limit above its
    per-process maximum; the limit then stays as it was, and the log says that too.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):
        hard = soft
    log.info("open files limit", extra={"soft": hard, "was": soft})
