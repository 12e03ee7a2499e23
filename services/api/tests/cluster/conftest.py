"""Several real `python -m stock_ticker` processes sharing one real redis-server and the fake
upstream: a deployment on one machine."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from tests.conftest import API_KEY
from tests.support.fake_upstream import FakeAlphaVantage
from tests.support.fixtures import ServiceFactory
from tests.support.processes import ServerProcess
from tests.support.redis_server import RedisServer

Cluster = Callable[..., Awaitable[list[ServerProcess]]]


@pytest.fixture
def cluster(
    start_service: ServiceFactory,
    redis_server: RedisServer,
    fake_upstream: tuple[FakeAlphaVantage, str],
) -> Cluster:
    """`await cluster(n, **env)`: n replicas started at once, live against the fake upstream,
    sharing `redis_server`, metrics on, no drain, unmetered unless `env` says otherwise."""
    _, host = fake_upstream

    async def start(n: int, **env: str) -> list[ServerProcess]:
        base = {
            "STOCKS_API_HOST": host,
            "STOCKS_API_KEY": API_KEY,
            "REDIS_URL": redis_server.url,
            "REDIS_TIMEOUT_SECONDS": "0.5",  # the machine is busy; test_sigstop uses 0.1
            "ENABLE_METRICS": "true",
            "SHUTDOWN_DRAIN_SECONDS": "0",
            "UPSTREAM_RATE_PER_SECOND": "0",
            "UPSTREAM_DAILY_BUDGET": "0",
            "LOG_LEVEL": "INFO",
        }
        return list(await asyncio.gather(*(start_service({**base, **env}) for _ in range(n))))

    return start
