"""Fixtures for the resilience tests: an upstream that can be switched off and on again, and the
real-process fixtures of the end-to-end tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from tests.e2e.conftest import free_port, start_service
from tests.fakes import FakeAlphaVantage

__all__ = ["SwitchableUpstream", "start_service", "switchable_upstream"]


class SwitchableUpstream:
    """A `FakeAlphaVantage` on a fixed 127.0.0.1 port whose listener can be stopped (the port then
    refuses connections, and open keep-alive connections are closed) and started again."""

    def __init__(self) -> None:
        self.fake = FakeAlphaVantage()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        assert self._runner is None
        app = web.Application()
        app.router.add_get("/query", self.fake._query)
        # A stalled reply waits forever: give it no grace when the listener goes away.
        runner = web.AppRunner(app, shutdown_timeout=0.1, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port).start()
        self._runner = runner

    async def stop(self) -> None:
        assert self._runner is not None
        await self._runner.cleanup()
        self._runner = None

    @property
    def running(self) -> bool:
        return self._runner is not None


@pytest.fixture
async def switchable_upstream() -> AsyncIterator[SwitchableUpstream]:
    upstream = SwitchableUpstream()
    await upstream.start()
    yield upstream
    if upstream.running:
        await upstream.stop()
