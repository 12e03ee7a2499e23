"""Fixtures shared by the tests. The folders mirror the package (domain/, upstream/, service/,
web/, observability/), plus e2e/, resilience/ and cluster/, whose tests carry the marker of
their folder (`-m "not e2e"` runs the in-process tests alone)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Awaitable, Callable, Iterator
from types import SimpleNamespace
from typing import Any, cast
from unittest.mock import patch

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.test_utils import TestClient, TestServer
from aioresponses import aioresponses
from aioresponses import core as aioresponses_core

from stock_ticker.app import create_app
from stock_ticker.config import Settings
from stock_ticker.observability.metrics import Metrics
from stock_ticker.service import Quotes
from stock_ticker.upstream import PriceProvider
from tests.support.clock import FakeClock
from tests.support.fake_upstream import FakeAlphaVantage

API_KEY = "TEST-KEY-7f3c9a1e5b"  # distinctive, so a leak is easy to find

#: The support package's fixtures (the service process, the switchable upstream, redis-server).
pytest_plugins = ["tests.support.fixtures"]

ClientFactory = Callable[..., Awaitable[TestClient[web.Request, web.Application]]]


@pytest.fixture
async def fake_upstream(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
) -> tuple[FakeAlphaVantage, str]:
    """A fake Alpha Vantage on a real 127.0.0.1 port, and its base URL."""
    fake = FakeAlphaVantage()
    server = await aiohttp_server(fake.app)
    return fake, str(server.make_url("/"))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def live_settings(host: str, **overrides: Any) -> Settings:
    """Settings for a live (keyed) service against `host`, unmetered unless a test says."""
    base = Settings(
        stocks_api_host=host,
        stocks_api_key=API_KEY,
        upstream_rate_per_second=0,
        upstream_daily_budget=0,
        enable_metrics=True,
        upstream_timeout_seconds=2.0,
        upstream_deadline_seconds=5.0,
    )
    return dataclasses.replace(base, **overrides)


def live_env(host: str, **extra: str) -> dict[str, str]:
    """`live_settings` for a real `python -m stock_ticker` process: its environment, any symbol
    admitted."""
    return {
        "STOCKS_API_HOST": host,
        "STOCKS_API_KEY": API_KEY,
        "ENABLE_METRICS": "true",
        "UPSTREAM_RATE_PER_SECOND": "0",
        "UPSTREAM_DAILY_BUDGET": "0",
        "ALLOWED_SYMBOLS": "*",
        **extra,
    }


@pytest.fixture
def make_client(
    aiohttp_client: Callable[..., Awaitable[TestClient[web.Request, web.Application]]],
    clock: FakeClock,
) -> ClientFactory:
    """Build the real app with `settings` and a fake clock, and a client for it."""

    async def make(
        settings: Settings,
        *,
        provider: PriceProvider | None = None,
        wall: Callable[[], float] = time.time,
    ) -> TestClient[web.Request, web.Application]:
        def quotes(p: PriceProvider, s: Settings, m: Metrics) -> Quotes:
            return Quotes(p, s, m, clock=clock, wall=wall, sleep=clock.sleep)

        factory = None if provider is None else (lambda _session: provider)
        app = create_app(settings, provider_factory=factory, quotes_factory=quotes)
        return await aiohttp_client(app)

    return make


class _ClientResponse(aiohttp.ClientResponse):
    """aioresponses 0.7.9 builds responses without aiohttp 3.14's `stream_writer` argument."""

    def __init__(self, *args: Any, stream_writer: Any = None, **kwargs: Any) -> None:
        writer = stream_writer or SimpleNamespace(output_size=0)  # nothing was really sent
        super().__init__(*args, stream_writer=cast(AbstractStreamWriter, writer), **kwargs)


@pytest.fixture
def mocked() -> Iterator[aioresponses]:
    """aioresponses, patched for aiohttp 3.14, letting calls to local test servers through."""
    with (
        patch.object(aioresponses_core, "ClientResponse", _ClientResponse),
        aioresponses(passthrough=["http://127.0.0.1"]) as mock,
    ):
        yield mock


_FOLDER_MARKS = {"e2e": "e2e", "resilience": "resilience", "cluster": "cluster"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test of e2e/, resilience/ and cluster/ with its folder's marker."""
    for item in items:
        folder = item.path.parent.name
        if folder in _FOLDER_MARKS:
            item.add_marker(_FOLDER_MARKS[folder])
