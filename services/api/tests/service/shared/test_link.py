"""The link to the shared store: short waits, one log line per change of state, the gauge and
the error counter, reconnection by itself, and credentials that never reach a log."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from stock_ticker.config import Settings
from stock_ticker.observability.metrics import Metrics
from stock_ticker.service.shared.link import (
    CALL_TIMEOUTS,
    MAX_CONNECTIONS,
    PROBE_SECONDS,
    RedisLink,
    SharedStoreDown,
    connect,
    describe,
)
from tests.service.replicas import link_to
from tests.support.clock import FakeClock
from tests.support.redis_server import RedisServer

PASSWORD = "valkey-pw-3b1f9e"  # distinctive, so a leak is easy to find


def link_with_clock(url: str, metrics: Metrics, clock: FakeClock, password: str = "") -> RedisLink:
    """A link with the service's default timeout (0.1 s) and a hand-moved clock."""
    timeout = Settings().redis_timeout_seconds
    return RedisLink(
        connect(url, password, timeout),
        metrics.track_shared_store(),
        name=describe(url),
        timeout=timeout,
        clock=clock,
        probe_in_background=False,  # the hand-moved clock decides when to probe
    )


def sample(metrics: Metrics, name: str) -> float | None:
    return metrics.registry.get_sample_value(name)


async def ping(link: RedisLink) -> bool:
    return bool(await link.run(lambda r: r.ping()))


async def test_down_and_back_are_one_log_line_each_and_the_gauge_follows(
    redis_server: RedisServer, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    metrics = Metrics()
    link = link_with_clock(redis_server.url, metrics, clock)
    try:
        assert await ping(link)
        assert sample(metrics, "stock_api_shared_store_up") == 1
        redis_server.kill()
        with caplog.at_level(logging.INFO, "stock_ticker.service.shared.link"):
            for _ in range(5):  # the first fails; the others are not even tried
                with pytest.raises(SharedStoreDown):
                    await ping(link)
            assert sample(metrics, "stock_api_shared_store_up") == 0
            assert sample(metrics, "stock_api_shared_store_errors_total") == 1
            clock.advance(PROBE_SECONDS)
            with pytest.raises(SharedStoreDown):  # the probe fails: still down, not logged again
                await ping(link)
            redis_server.start()
            with pytest.raises(SharedStoreDown):  # within the next probe period
                await ping(link)
            clock.advance(PROBE_SECONDS)
            assert await ping(link)  # the client reconnected by itself
            assert await ping(link)
        messages = [r.getMessage() for r in caplog.records]
        assert len(messages) == 2
        assert messages[0].startswith("shared store unreachable")
        assert messages[1] == "shared store reachable again"
        assert sample(metrics, "stock_api_shared_store_up") == 1
        assert sample(metrics, "stock_api_shared_store_errors_total") == 2
    finally:
        await link.close()


async def test_a_hanging_store_costs_one_short_wait_then_none(
    redis_server: RedisServer, clock: FakeClock
) -> None:
    metrics = Metrics()
    link = link_with_clock(redis_server.url, metrics, clock)
    try:
        assert await ping(link)
        redis_server.pause()  # connections stay open, nothing is answered
        started = time.monotonic()
        with pytest.raises(SharedStoreDown):
            await ping(link)
        # 0.25 s, with room for a busy machine: far from the seconds a hanging store would take.
        assert time.monotonic() - started < CALL_TIMEOUTS * Settings().redis_timeout_seconds + 0.2
        started = time.monotonic()
        with pytest.raises(SharedStoreDown):
            await ping(link)
        assert time.monotonic() - started < 0.01  # treated as down: not even sent
        redis_server.resume()
        clock.advance(PROBE_SECONDS)
        assert await ping(link)
    finally:
        await link.close()


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[RedisServer]:
    (tmp_path / "guarded").mkdir()
    server = RedisServer(tmp_path / "guarded", password=PASSWORD)
    server.start()
    yield server
    server.close()


async def test_the_password_is_used_and_never_logged(
    guarded: RedisServer, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    with_url = guarded.url.replace("redis://", f"redis://:{PASSWORD}@")
    for url, password in [(guarded.url, PASSWORD), (with_url, "")]:
        link = link_with_clock(url, Metrics(), clock, password)
        try:
            assert await ping(link)
        finally:
            await link.close()
    wrong = link_with_clock(with_url.replace(PASSWORD, "wrong"), Metrics(), clock)
    try:
        with caplog.at_level(logging.INFO), pytest.raises(SharedStoreDown):
            await ping(wrong)
    finally:
        await wrong.close()
    assert caplog.records
    for record in caplog.records:
        assert PASSWORD not in str(vars(record))
        assert "wrong" not in str(vars(record)["store"])
    assert PASSWORD not in describe(with_url)


async def test_a_store_that_comes_back_is_seen_without_any_request(
    redis_server: RedisServer,
) -> None:
    metrics = Metrics()
    link = link_to(redis_server.url, metrics)
    try:
        redis_server.kill()
        with pytest.raises(SharedStoreDown):
            await ping(link)
        redis_server.start()
        async with asyncio.timeout(5 * PROBE_SECONDS):
            while sample(metrics, "stock_api_shared_store_up") != 1:
                await asyncio.sleep(0.02)  # polling the gauge the background probe sets
        assert link.up
    finally:
        await link.close()


async def test_a_burst_of_commands_shares_a_bounded_pool(redis_server: RedisServer) -> None:
    """Without the cap each concurrent command opens a connection of its own."""
    metrics = Metrics()
    link = link_to(redis_server.url, metrics)
    try:
        assert all(await asyncio.gather(*(ping(link) for _ in range(10 * MAX_CONNECTIONS))))
        info = await link.run(lambda r: r.info("clients"))
        assert 1 < info["connected_clients"] <= MAX_CONNECTIONS
        assert link.up
        assert sample(metrics, "stock_api_shared_store_errors_total") == 0
    finally:
        await link.close()
