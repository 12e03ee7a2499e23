"""The two tiers on a real redis-server: a warm hit never leaves the process, a cold replica
reads what another fetched (one round trip) before it considers the upstream, and freshness is
agreed in wall-clock time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from redis.asyncio import Redis

from stock_ticker.domain import PriceSeries
from stock_ticker.service import CacheState
from stock_ticker.service.shared.link import RedisLink
from stock_ticker.upstream import MalformedResponse, UnknownSymbol
from tests.service.replicas import Replicas
from tests.service.scripted import ScriptedProvider, series
from tests.support.clock import FakeClock

Links = Callable[..., RedisLink]
#: Where a symbol's entry is in the shared store.
ENTRY = "stock-ticker:v1:entry:"


async def commands(client: Redis) -> int:
    """Commands the server has processed so far (this one included)."""
    info = await client.info("stats")
    return int(info["total_commands_processed"])


async def test_a_warm_hit_sends_nothing_to_the_shared_store(
    replicas: Replicas, redis_url: str, links: Links, clock: FakeClock
) -> None:
    ((quotes, _),) = await replicas(ScriptedProvider(), 1)
    assert (await quotes.get("MSFT")).state is CacheState.MISS
    client = links(redis_url).client
    idle = -(await commands(client)) + await commands(client)  # what counting itself costs
    before = await commands(client)
    for _ in range(200):
        assert (await quotes.get("MSFT")).state is CacheState.HIT
    assert await commands(client) - before == idle


class Signalling(ScriptedProvider):
    """Says when the upstream is called, and answers when the gate opens."""

    def __init__(self) -> None:
        super().__init__()
        self.opened = self.gate = asyncio.Event()
        self.called = asyncio.Event()

    async def fetch_daily_series(self, symbol: str, *, timeout: float) -> PriceSeries:
        self.called.set()
        return await super().fetch_daily_series(symbol, timeout=timeout)


async def test_a_stampede_asks_the_shared_store_once_not_once_per_request(
    replicas: Replicas, redis_url: str, links: Links, clock: FakeClock
) -> None:
    """300 concurrent misses share one set of checks (entry, rest, hold-off), one lease and one
    write, as many commands as one lone miss; a miss that arrives while the refresh is in flight
    asks nothing at all. Checked one by one, they would send five commands each, on a
    connection each."""
    provider = Signalling()
    ((quotes, _),) = await replicas(provider, 1)
    client = links(redis_url).client
    before = await commands(client)
    first = [asyncio.create_task(quotes.get("MSFT")) for _ in range(300)]
    async with asyncio.timeout(10):
        await provider.called.wait()
    in_flight = await commands(client)
    late = asyncio.create_task(quotes.get("MSFT"))
    async with asyncio.timeout(10):
        while quotes.waiting < 301:  # the late request reached the refresh in flight
            await asyncio.sleep(0)  # one loop turn for it: polling the count, bounded above
    assert await commands(client) - in_flight == 1  # only the counting itself
    provider.opened.set()
    answers = await asyncio.gather(*first, late)
    assert {answer.state for answer in answers} == {CacheState.MISS}
    assert len(provider.calls) == 1
    stampede = await commands(client) - before - 3  # three counts of our own
    alone = await commands(client)
    assert (await quotes.get("AAPL")).state is CacheState.MISS
    assert await commands(client) - alone - 1 == stampede  # what one lone miss sends


async def test_a_cold_replica_answers_from_the_shared_tier_without_a_call(
    replicas: Replicas, redis_url: str, links: Links, clock: FakeClock
) -> None:
    provider = ScriptedProvider()
    (a, _), (b, metrics_b) = await replicas(provider, 2)
    fetched = await a.get("MSFT")
    assert await links(redis_url).client.pttl(ENTRY + "MSFT") > 3_599_000  # MAX_STALE_SECONDS
    clock.advance(20)
    hit = await b.get("MSFT")
    assert hit.state is CacheState.HIT
    assert hit.series.bars == fetched.series.bars
    assert hit.max_age == fetched.max_age - 20  # freshness agreed, in wall-clock time
    assert hit.modified == fetched.modified
    assert len(provider.calls) == 1
    assert metrics_b.registry.get_sample_value("stock_api_cache_hit_total") == 1
    assert (await b.get("MSFT")).state is CacheState.HIT  # now from its own first tier


async def test_a_copy_another_replica_fetched_answers_a_failure_here(
    replicas: Replicas, clock: FakeClock
) -> None:
    provider = ScriptedProvider()
    (a, _), (b, _) = await replicas(provider, 2)
    good = await a.get("MSFT")
    clock.advance(61)  # past the TTL (60 s), within MAX_STALE_SECONDS
    provider.then("MSFT", [MalformedResponse("html")])
    stale = await b.get("MSFT")
    assert stale.state is CacheState.STALE
    assert stale.series.bars == good.series.bars
    assert stale.age == 61


async def test_a_newer_shared_entry_replaces_a_stale_copy_without_a_call(
    replicas: Replicas, clock: FakeClock
) -> None:
    provider = ScriptedProvider()
    (a, _), (b, _) = await replicas(provider, 2)
    await a.get("MSFT")
    await b.get("MSFT")  # both hold the first fetch
    clock.advance(61)
    newer = series(close="42")
    provider.then("MSFT", [newer])
    assert (await a.get("MSFT")).state is CacheState.MISS
    hit = await b.get("MSFT")
    assert (hit.state, hit.series.bars) == (CacheState.HIT, newer.bars)
    assert len(provider.calls) == 2


async def test_an_unknown_symbol_is_remembered_for_every_replica(
    replicas: Replicas, clock: FakeClock
) -> None:
    provider = ScriptedProvider()
    (a, _), (b, _) = await replicas(provider, 2)
    provider.then("NOPE", [UnknownSymbol("Invalid API call", available=("AAPL", "MSFT"))])
    with pytest.raises(UnknownSymbol):
        await a.get("NOPE")
    with pytest.raises(UnknownSymbol) as remembered:
        await b.get("NOPE")
    assert "remembered" in remembered.value.detail
    assert remembered.value.available == ("AAPL", "MSFT")
    with pytest.raises(UnknownSymbol):
        await b.get("NOPE")  # already remembered here: the shared copy changes nothing
    assert len(provider.calls) == 1


async def test_an_entry_that_is_not_ours_reads_as_absent(
    replicas: Replicas, redis_url: str, links: Links, clock: FakeClock
) -> None:
    provider = ScriptedProvider()
    ((quotes, _),) = await replicas(provider, 1)
    client = links(redis_url).client
    await client.set(ENTRY + "MSFT", b"\x80pickled, or another version")
    await client.set(ENTRY + "AAPL", b'{"expires": "soon"}')
    assert (await quotes.get("MSFT")).state is CacheState.MISS
    assert (await quotes.get("AAPL")).state is CacheState.MISS
    assert len(provider.calls) == 2


async def test_an_expired_shared_entry_is_not_copied(replicas: Replicas, clock: FakeClock) -> None:
    provider = ScriptedProvider()
    (a, _), (b, _) = await replicas(provider, 2, max_stale_seconds=0)
    await a.get("MSFT")
    clock.advance(61)  # past the TTL: in the store's words it has gone (its wall clock moved)
    assert (await b.get("MSFT")).state is CacheState.MISS
    assert len(provider.calls) == 2
