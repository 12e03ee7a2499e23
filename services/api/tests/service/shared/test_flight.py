"""The cluster single flight on a real redis-server: one refresh per symbol for the deployment,
its outcome (entry or failure) handed to every replica, a dead holder's lease taken over."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from stock_ticker.service import CacheState
from stock_ticker.service.ports import CachedSeries
from stock_ticker.service.shared.leased_flight import FAILED_MARK_SECONDS, LEASE_PREFIX
from stock_ticker.service.shared.link import RedisLink
from stock_ticker.upstream import MalformedResponse, UpstreamUnavailable
from tests.service.replicas import Replicas
from tests.service.scripted import ScriptedProvider, series
from tests.support.clock import FakeClock
from tests.support.redis_server import RedisServer

Links = Callable[..., RedisLink]


async def arrived(provider: ScriptedProvider, calls: int) -> None:
    """Until `calls` calls have reached the scripted upstream."""
    async with asyncio.timeout(5):
        while len(provider.calls) < calls:
            await asyncio.sleep(0.005)  # polling a counter, not papering over a race


async def test_concurrent_misses_on_three_replicas_make_one_call(
    replicas: Replicas, redis_url: str, links: Links, clock: FakeClock
) -> None:
    provider = ScriptedProvider()
    fleet = await replicas(provider, 3)
    provider.gate = asyncio.Event()
    asking = [asyncio.ensure_future(q.get("MSFT")) for q, _ in fleet for _ in range(10)]
    await arrived(provider, 1)
    client = links(redis_url).client
    while not all("MSFT" in q._flight for q, _ in fleet):  # every replica is waiting
        await asyncio.sleep(0.005)  # polling their flights (the upstream is gated), not a race
    assert await client.exists(LEASE_PREFIX + "MSFT")
    fresh = series(close="3")
    provider.then("MSFT", [fresh])
    provider.gate.set()
    answers = await asyncio.gather(*asking)
    assert len(provider.calls) == 1
    assert {a.state for a in answers} == {CacheState.MISS}
    assert all(a.series.bars == fresh.bars for a in answers)
    assert not await client.exists(LEASE_PREFIX + "MSFT")  # released by its holder


async def test_the_holders_failure_is_every_waiters_answer(
    replicas: Replicas, clock: FakeClock
) -> None:
    provider = ScriptedProvider()
    (a, _), (b, _) = await replicas(provider, 2)
    provider.gate = asyncio.Event()
    provider.then("MSFT", [MalformedResponse("html instead of JSON")])
    holder = asyncio.ensure_future(a.get("MSFT"))
    await arrived(provider, 1)
    waiter = asyncio.ensure_future(b.get("MSFT"))
    while "MSFT" not in b._flight:
        await asyncio.sleep(0.005)
    provider.gate.set()
    for asked in (holder, waiter):
        with pytest.raises(MalformedResponse) as failed:
            await asked
        assert failed.value.detail == "html instead of JSON"
    assert len(provider.calls) == 1


async def test_a_lease_whose_holder_died_is_taken_once_it_lapses(
    replicas: Replicas, redis_url: str, links: Links, clock: FakeClock
) -> None:
    provider = ScriptedProvider()
    ((quotes, _),) = await replicas(provider, 1)
    client = links(redis_url).client
    await client.set(LEASE_PREFIX + "MSFT", "a-replica-that-died", px=300)
    started = time.monotonic()
    quote = await quotes.get("MSFT")
    assert time.monotonic() - started >= 0.25  # nobody called while the lease was live
    assert quote.state is CacheState.MISS
    assert len(provider.calls) == 1


async def test_a_lease_taken_just_after_another_replica_refreshed_calls_nobody(
    replicas: Replicas, redis_url: str, links: Links, clock: FakeClock
) -> None:
    """B looked (nothing there), A refreshed and let the lease go, then B took it."""
    provider = ScriptedProvider()
    (a, _), (b, _) = await replicas(provider, 2)
    fresh = await a.get("MSFT")

    async def refresh_again() -> CachedSeries:
        raise AssertionError("the upstream was asked again")

    entry = await b._flight.start("MSFT", refresh_again)
    assert entry.series.bars == fresh.series.bars
    assert len(provider.calls) == 1
    assert not await links(redis_url).client.exists(LEASE_PREFIX + "MSFT")  # let go again


async def test_a_holder_cancelled_before_it_refreshes_lets_the_lease_go(
    replicas: Replicas,
    redis_url: str,
    links: Links,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Shutdown cancels a refresh that has just taken its lease: nobody waits for it to lapse."""
    provider = ScriptedProvider()
    ((quotes, _),) = await replicas(provider, 1)
    flight = quotes._flight

    async def cancelled(key: str, known: float) -> CachedSeries | None:
        raise asyncio.CancelledError

    monkeypatch.setattr(flight, "_newer_than", cancelled)

    async def refresh() -> CachedSeries:
        raise AssertionError("no refresh after the cancellation")

    with pytest.raises(asyncio.CancelledError):
        await flight.start("MSFT", refresh)
    assert not await links(redis_url).client.exists(LEASE_PREFIX + "MSFT")
    assert provider.calls == []


async def test_a_holder_never_releases_a_lease_it_no_longer_holds(
    replicas: Replicas, redis_url: str, links: Links, clock: FakeClock
) -> None:
    provider = ScriptedProvider()
    ((quotes, _),) = await replicas(provider, 1)
    provider.gate = asyncio.Event()
    asked = asyncio.ensure_future(quotes.get("MSFT"))
    await arrived(provider, 1)
    client = links(redis_url).client
    await client.set(LEASE_PREFIX + "MSFT", "its-lease-lapsed-and-went-to-another")
    provider.gate.set()
    assert (await asked).state is CacheState.MISS
    assert await client.get(LEASE_PREFIX + "MSFT") == b"its-lease-lapsed-and-went-to-another"


async def test_a_failure_stays_in_the_lease_only_briefly(
    replicas: Replicas, redis_url: str, links: Links, clock: FakeClock
) -> None:
    provider = ScriptedProvider()
    ((quotes, _),) = await replicas(provider, 1)
    provider.then("MSFT", [MalformedResponse("html")])
    with pytest.raises(MalformedResponse):
        await quotes.get("MSFT")
    left = await links(redis_url).client.pttl(LEASE_PREFIX + "MSFT")
    assert 0 < left <= FAILED_MARK_SECONDS * 1000


async def test_without_the_store_each_replica_refreshes_on_its_own(
    redis_server: RedisServer, replicas: Replicas, clock: FakeClock
) -> None:
    provider = ScriptedProvider()
    fleet = await replicas(provider, 2, redis_url=redis_server.url)
    redis_server.kill()
    answers = [await q.get("MSFT") for q, _ in fleet]
    assert {a.state for a in answers} == {CacheState.MISS}
    assert len(provider.calls) == 2  # bounded by each one's fallback budget


async def test_a_store_lost_while_waiting_lets_the_waiter_refresh(
    redis_server: RedisServer, replicas: Replicas, links: Links, clock: FakeClock
) -> None:
    provider = ScriptedProvider()
    ((quotes, _),) = await replicas(provider, 1, redis_url=redis_server.url)
    await links(redis_server.url).client.set(LEASE_PREFIX + "MSFT", "someone-else", px=60_000)
    asked = asyncio.ensure_future(quotes.get("MSFT"))
    while "MSFT" not in quotes._flight:
        await asyncio.sleep(0.005)
    redis_server.kill()
    assert (await asked).state is CacheState.MISS
    assert len(provider.calls) == 1


async def test_a_replica_that_starts_while_the_store_is_down_serves_from_memory(
    redis_server: RedisServer, replicas: Replicas, clock: FakeClock
) -> None:
    redis_server.kill()
    provider = ScriptedProvider()
    ((quotes, metrics),) = await replicas(provider, 1, redis_url=redis_server.url)
    assert metrics.registry.get_sample_value("stock_api_shared_store_up") == 0
    assert (await quotes.get("MSFT")).state is CacheState.MISS
    assert (await quotes.get("MSFT")).state is CacheState.HIT


async def test_a_holder_that_loses_the_store_leaves_its_lease_to_lapse(
    redis_server: RedisServer, replicas: Replicas, clock: FakeClock
) -> None:
    provider = ScriptedProvider()
    ((quotes, _),) = await replicas(provider, 1, redis_url=redis_server.url)
    provider.gate = asyncio.Event()
    asked = asyncio.ensure_future(quotes.get("MSFT"))
    await arrived(provider, 1)
    redis_server.kill()
    provider.gate.set()
    assert (await asked).state is CacheState.MISS  # the answer does not depend on the store


async def test_shutdown_cancels_a_leased_refresh_and_releases_the_lease(
    replicas: Replicas, redis_url: str, links: Links, clock: FakeClock
) -> None:
    provider = ScriptedProvider()
    ((quotes, _),) = await replicas(provider, 1)
    provider.gate = asyncio.Event()
    asked = asyncio.ensure_future(quotes.get("MSFT"))
    await arrived(provider, 1)
    quotes.cancel_refreshes_after(0)
    with pytest.raises(UpstreamUnavailable, match="shutting down"):
        await asked
    assert not await links(redis_url).client.exists(LEASE_PREFIX + "MSFT")
