"""The hold-off and the rests in a real redis-server: what one replica learns about the upstream
stops every replica, and each process keeps its own copy for when the store is down."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from redis.asyncio import Redis

from stock_ticker.service import CacheState
from stock_ticker.service.hold_offs import PROBE_WINDOW_SECONDS
from stock_ticker.service.shared.hold_offs import (
    FAILURES_PREFIX,
    FAILURES_TTL_SECONDS,
    HOLD_KEY,
    REST_PREFIX,
    SharedHoldOffs,
)
from stock_ticker.service.shared.leased_flight import LEASE_PREFIX
from stock_ticker.service.shared.link import RedisLink
from stock_ticker.upstream import (
    MalformedResponse,
    UpstreamThrottled,
    UpstreamUnavailable,
)
from tests.service.replicas import Replicas
from tests.service.scripted import ScriptedProvider, series
from tests.support.clock import FakeClock
from tests.support.redis_server import RedisServer

Links = Callable[..., RedisLink]


async def lapse(client: Redis, symbol: str) -> None:
    """Ten seconds pass for the store: the symbol's rest, the failure its lease holder left for
    the waiters, and the hold-off of an upstream resting after a transient fault are over."""
    await client.delete(REST_PREFIX + symbol, LEASE_PREFIX + symbol, HOLD_KEY)


async def test_a_throttle_seen_by_one_replica_holds_off_every_replica(
    replicas: Replicas, clock: FakeClock
) -> None:
    provider = ScriptedProvider()
    (a, _), (b, metrics_b) = await replicas(provider, 2)
    provider.then("MSFT", [UpstreamThrottled("daily limit", retry_after=120)])
    with pytest.raises(UpstreamThrottled):
        await a.get("MSFT")
    with pytest.raises(UpstreamThrottled) as held:
        await b.get("AAPL")  # another symbol, another replica: no call
    assert "holding off" in held.value.detail
    assert held.value.retry_after == pytest.approx(120, abs=1)
    assert len(provider.calls) == 1
    refusals = metrics_b.registry.get_sample_value(
        "stock_api_upstream_budget_refusals_total", {"reason": "hold_off"}
    )
    assert refusals == 1


async def test_a_shorter_hold_off_never_shortens_the_shared_one(
    redis_url: str, links: Links
) -> None:
    link = links(redis_url)
    holds = SharedHoldOffs(link)
    await holds.hold(60, UpstreamThrottled("daily"))
    await SharedHoldOffs(links(redis_url)).hold(5, UpstreamUnavailable("503"))
    held = await SharedHoldOffs(links(redis_url)).held()
    assert held is not None
    assert isinstance(held.cause, UpstreamThrottled)
    assert await link.client.pttl(HOLD_KEY) > 55_000


async def test_a_failing_symbol_rests_on_every_replica_and_doubles_there(
    replicas: Replicas, redis_url: str, links: Links, clock: FakeClock
) -> None:
    provider = ScriptedProvider()
    (a, _), (b, _) = await replicas(provider, 2)
    provider.then("MSFT", [MalformedResponse("html"), MalformedResponse("html again")])
    with pytest.raises(MalformedResponse):
        await a.get("MSFT")
    with pytest.raises(MalformedResponse) as resting:
        await b.get("MSFT")  # answered at once, with the time left
    assert "refresh failed recently" in resting.value.detail
    assert resting.value.retry_after == pytest.approx(10, abs=1)
    assert len(provider.calls) == 1
    client = links(redis_url).client
    await lapse(client, "MSFT")
    with pytest.raises(MalformedResponse):
        await b.get("MSFT")  # the second failure in a row, on the other replica: 20 s
    assert await client.pttl(REST_PREFIX + "MSFT") > 19_000
    provider.then("MSFT", [series()])
    await lapse(client, "MSFT")
    assert await SharedHoldOffs(links(redis_url)).failing("MSFT")  # seen by every replica
    assert (await a.get("MSFT")).state is CacheState.MISS
    assert not await client.exists(FAILURES_PREFIX + "MSFT")  # the next failure starts at 10 s
    assert not await SharedHoldOffs(links(redis_url)).failing("MSFT")


async def test_a_failure_minutes_old_is_failing_one_a_day_old_is_not(
    redis_url: str, links: Links
) -> None:
    link = links(redis_url)
    holds = SharedHoldOffs(link)
    await holds.failed("MSFT", MalformedResponse("x"), at_least=0)
    assert await holds.failing("MSFT")
    counter = FAILURES_PREFIX + "MSFT"
    await link.client.pexpire(counter, round(FAILURES_TTL_SECONDS - PROBE_WINDOW_SECONDS) * 1000)
    assert not await holds.failing("MSFT")  # its last failure was PROBE_WINDOW_SECONDS ago
    assert not await holds.failing("AAPL")  # never failed
    await holds.failed("*", MalformedResponse("x"), at_least=0)
    assert await holds.failing("AAPL", "*")  # any of the names, in one round trip
    await holds.succeeded("AAPL", "*")
    assert not await link.client.exists(FAILURES_PREFIX + "*")


async def test_a_replica_probes_a_symbol_another_saw_fail_with_one_attempt(
    replicas: Replicas, redis_url: str, links: Links, clock: FakeClock
) -> None:
    provider = ScriptedProvider()
    (a, _), (b, _) = await replicas(provider, 2, upstream_max_attempts=2)
    provider.then("MSFT", [UpstreamUnavailable("500")] * 4)
    with pytest.raises(UpstreamUnavailable):
        await a.get("MSFT")
    assert len(provider.calls) == 2
    await lapse(links(redis_url).client, "MSFT")
    with pytest.raises(UpstreamUnavailable):
        await b.get("MSFT")
    assert len(provider.calls) == 3


async def test_while_the_store_is_down_the_process_keeps_its_own(
    redis_server: RedisServer, links: Links, clock: FakeClock
) -> None:
    holds = SharedHoldOffs(links(redis_server.url), clock)
    await holds.hold(30, UpstreamThrottled("slow down"))
    assert await holds.failed("MSFT", MalformedResponse("x"), at_least=0) == 10
    redis_server.kill()
    held = await holds.held()
    assert held is not None
    assert held.until == clock() + 30
    rest = await holds.resting("MSFT")
    assert rest is not None
    assert await holds.failed("MSFT", MalformedResponse("x"), at_least=0) == 20  # its own count
    await holds.hold(60, UpstreamThrottled("longer"))
    held = await holds.held()
    assert held is not None
    assert held.until == clock() + 60
    assert await holds.failing("MSFT")  # by this process's own count
    clock.advance(PROBE_WINDOW_SECONDS)
    assert not await holds.failing("MSFT")  # a failure that long ago is no outage known
    await holds.succeeded("MSFT")
    assert await holds.resting("MSFT") is None
