"""Several `Quotes` (replicas, as far as the cache policy goes) sharing one real redis-server and
one scripted upstream, on a hand-moved clock whose wall clock moves with it."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from stock_ticker.observability.metrics import Metrics
from stock_ticker.service import Quotes
from stock_ticker.service.shared.link import RedisLink, connect
from tests.service.scripted import SETTINGS, ScriptedProvider
from tests.support.clock import FakeClock

__all__ = ["EPOCH", "Replicas", "link_to", "links", "replicas"]

#: The hand-moved clock's 0 on the wall clock: replicas agree on wall-clock times only if the
#: wall clock moves with the service clock.
EPOCH = 1_764_000_000.0

Replicas = Callable[..., Awaitable[list[tuple[Quotes, Metrics]]]]


@pytest.fixture
async def replicas(redis_url: str, clock: FakeClock) -> AsyncIterator[Replicas]:
    """`await replicas(provider, n, **settings)`: n started `Quotes` sharing `redis_url`."""
    made: list[Quotes] = []

    async def make(
        provider: ScriptedProvider, n: int = 2, **overrides: Any
    ) -> list[tuple[Quotes, Metrics]]:
        settings = dataclasses.replace(
            SETTINGS,
            **{"redis_url": redis_url, "redis_timeout_seconds": TEST_TIMEOUT_SECONDS, **overrides},
        )
        out = []
        for _ in range(n):
            metrics = Metrics()
            quotes = Quotes(
                provider,
                settings,
                metrics,
                clock=clock,
                wall=lambda: clock.now + EPOCH,
                sleep=clock.sleep,
            )
            await quotes.start()
            made.append(quotes)
            out.append((quotes, metrics))
        return out

    yield make
    for quotes in made:
        await quotes.close()


#: Commands may take this long here (the machine may be busy with other tests); the service's
#: own default of 0.1 s is what tests/service/shared/test_link.py holds.
TEST_TIMEOUT_SECONDS = 0.5


def link_to(url: str, metrics: Metrics | None = None, password: str = "") -> RedisLink:
    """A link as the service makes it, with its own metrics unless given."""
    tracked = (metrics or Metrics()).track_shared_store()
    timeout = TEST_TIMEOUT_SECONDS
    return RedisLink(connect(url, password, timeout), tracked, name="test", timeout=timeout)


@pytest.fixture
async def links() -> AsyncIterator[Callable[..., RedisLink]]:
    """`links(url)`: a new `RedisLink`, closed after the test."""
    made: list[RedisLink] = []

    def make(url: str, metrics: Metrics | None = None, password: str = "") -> RedisLink:
        made.append(link_to(url, metrics, password))
        return made[-1]

    yield make
    for link in made:
        await link.close()
