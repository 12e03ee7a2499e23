"""Serving an aiohttp application on a 127.0.0.1 port: started and stopped by a test (the fake
upstream whose port must refuse connections for a while), or until SIGINT/SIGTERM as a process
of its own (the fake upstream and the bench's baseline). Only aiohttp and the standard library:
the bench's baseline process must import nothing more."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

from aiohttp import web


class Listener:
    """`app` on `host:port`, which can be stopped (the port then refuses connections, and open
    keep-alive connections are closed) and started again."""

    def __init__(
        self,
        app: web.Application,
        host: str,
        port: int,
        *,
        shutdown_timeout: float = 60.0,
        backlog: int = 1024,
    ) -> None:
        self.app, self.host, self.port = app, host, port
        self.shutdown_timeout = shutdown_timeout
        self.backlog = backlog
        self._runner: web.AppRunner | None = None

    @property
    def running(self) -> bool:
        return self._runner is not None

    async def start(self) -> None:
        assert self._runner is None
        runner = web.AppRunner(
            self.app,
            access_log=None,
            handle_signals=False,
            shutdown_timeout=self.shutdown_timeout,
        )
        await runner.setup()
        await web.TCPSite(runner, self.host, self.port, backlog=self.backlog).start()
        self._runner = runner

    async def stop(self) -> None:
        assert self._runner is not None
        await self._runner.cleanup()
        self._runner = None


async def serve(app: web.Application, host: str, port: int) -> None:
    """Serve `app` until SIGINT or SIGTERM."""
    listener = Listener(app, host, port)
    await listener.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"listening on {host}:{port}", flush=True)
    try:
        await stop.wait()
    finally:
        await listener.stop()


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


def run(app: web.Application, host: str, port: int, loop: str) -> None:
    """`serve` on the loop named `loop` (see `loop_factory`)."""
    with asyncio.Runner(loop_factory=loop_factory(loop)) as runner:
        runner.run(serve(app, host, port))
