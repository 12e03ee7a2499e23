"""The cache policy of `Quotes`: stale-on-error, cooldown, hold-off, budget, negative cache,
refresh ahead, bounded size and retries. Driven by a scripted provider and a hand-moved clock."""

from __future__ import annotations

import asyncio
import logging

import pytest

from stock_ticker.domain import PriceSeries
from stock_ticker.service import BudgetExhausted, CacheState
from stock_ticker.upstream import (
    MalformedResponse,
    UnknownSymbol,
    UpstreamError,
    UpstreamRejected,
    UpstreamThrottled,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from tests.service.scripted import ScriptedProvider, make, sample, series
from tests.support.clock import FakeClock


async def test_stale_copy_is_served_when_a_refresh_fails_then_rests(clock: FakeClock) -> None:
    provider = ScriptedProvider()
    quotes, metrics = make(provider, clock)
    good = series(close="5")
    provider.then("MSFT", [good, UpstreamUnavailable("down", retry_after=30)])
    assert (await quotes.get("MSFT")).state is CacheState.MISS
    clock.advance(61)
    stale = await quotes.get("MSFT")
    assert stale.state is CacheState.STALE
    assert stale.series is good
    assert stale.max_age == 0
    assert stale.age == 61
    assert stale.stale_reason == "down"
    assert len(provider.calls) == 2  # not retried: Retry-After (30 s) is past the deadline
    # During the cooldown the upstream is left alone and the stale copy answers at once.
    clock.advance(10)
    again = await quotes.get("MSFT")
    assert again.state is CacheState.STALE
    assert again.age == 71
    assert len(provider.calls) == 2
    assert sample(metrics, "stock_api_cache_stale_total") == 2
    clock.advance(21)  # cooldown (30 s) over: the next request refreshes
    fresh = await quotes.get("MSFT")
    assert fresh.state is CacheState.MISS
    assert len(provider.calls) == 3


async def test_transient_errors_are_retried_within_the_deadline(clock: FakeClock) -> None:
    provider = ScriptedProvider()
    quotes, metrics = make(provider, clock, upstream_max_attempts=3)
    provider.then("MSFT", [UpstreamUnavailable("502"), UpstreamTimeout("slow")])
    quote = await quotes.get("MSFT")
    assert quote.state is CacheState.MISS
    assert len(provider.calls) == 3
    assert sample(metrics, "stock_api_upstream_requests_total", outcome="UpstreamUnavailable") == 1
    assert sample(metrics, "stock_api_upstream_requests_total", outcome="UpstreamTimeout") == 1
    assert sample(metrics, "stock_api_upstream_requests_total", outcome="success") == 1
    assert sample(metrics, "stock_api_upstream_request_duration_seconds_count") == 3  # failures too


async def test_retries_stop_at_the_deadline_and_attempts_fit_inside_it(clock: FakeClock) -> None:
    provider = ScriptedProvider()
    quotes, _ = make(provider, clock, upstream_deadline_seconds=20.0)

    async def slow_failure(symbol: str, *, timeout: float) -> PriceSeries:
        provider.calls.append((symbol, timeout))
        clock.advance(timeout)  # the attempt used all the time it was given
        raise UpstreamTimeout("slow")

    provider.fetch_daily_series = slow_failure  # type: ignore[method-assign]
    start = clock()
    with pytest.raises(UpstreamTimeout):
        await quotes.get("MSFT")
    assert clock() - start <= 20.0 + 1e-9
    assert provider.calls[0][1] == 10.0  # per-attempt timeout
    assert all(timeout <= 10.0 for _, timeout in provider.calls)
    assert len(provider.calls) >= 2


@pytest.mark.parametrize(
    "error",
    [
        UnknownSymbol("x"),
        UpstreamRejected("bad key"),
        UpstreamThrottled("limit", retry_after=60),
        MalformedResponse("html"),
    ],
)
async def test_permanent_errors_are_not_retried(clock: FakeClock, error: UpstreamError) -> None:
    provider = ScriptedProvider()
    quotes, _ = make(provider, clock)
    provider.then("MSFT", [error])
    with pytest.raises(type(error)):
        await quotes.get("MSFT")
    assert len(provider.calls) == 1


async def test_a_throttle_holds_off_every_call_until_its_retry_after(clock: FakeClock) -> None:
    provider = ScriptedProvider()
    quotes, metrics = make(provider, clock)
    provider.then("MSFT", [UpstreamThrottled("limit", retry_after=60)])
    with pytest.raises(UpstreamThrottled):
        await quotes.get("MSFT")
    clock.advance(59)
    with pytest.raises(UpstreamThrottled) as held:
        await quotes.get("AAPL")  # any symbol: the quota is per key
    assert held.value.retry_after == pytest.approx(1)
    assert len(provider.calls) == 1
    assert sample(metrics, "stock_api_upstream_budget_refusals_total", reason="hold_off") == 1
    clock.advance(1)  # never longer than announced
    assert (await quotes.get("AAPL")).state is CacheState.MISS


async def test_unknown_symbols_are_remembered_briefly(clock: FakeClock) -> None:
    provider = ScriptedProvider()
    quotes, _ = make(provider, clock, negative_cache_seconds=300.0)
    provider.then("NOPE", [UnknownSymbol("x"), UnknownSymbol("x")])
    for _ in range(5):
        with pytest.raises(UnknownSymbol):
            await quotes.get("NOPE")
    assert len(provider.calls) == 1


async def test_a_remembered_unknown_symbol_keeps_the_symbols_the_source_named(
    clock: FakeClock,
) -> None:
    provider = ScriptedProvider()
    quotes, _ = make(provider, clock, negative_cache_seconds=300.0)
    provider.then("NOPE", [UnknownSymbol("x", available=["MSFT", "AAPL"])])
    for _ in range(2):  # the provider's answer, then the remembered one
        with pytest.raises(UnknownSymbol) as info:
            await quotes.get("NOPE")
        assert info.value.available == ("AAPL", "MSFT")
    assert len(provider.calls) == 1


async def test_negative_cache_can_be_disabled(clock: FakeClock) -> None:
    provider = ScriptedProvider()
    quotes, _ = make(provider, clock, negative_cache_seconds=0.0)
    provider.then("NOPE", [UnknownSymbol("x"), UnknownSymbol("x")])
    for _ in range(2):
        with pytest.raises(UnknownSymbol):
            await quotes.get("NOPE")
    assert len(provider.calls) == 2


async def test_stale_copy_expires_after_max_staleness(clock: FakeClock) -> None:
    provider = ScriptedProvider()
    quotes, _ = make(provider, clock, max_stale_seconds=100.0)
    provider.then("MSFT", [series(), MalformedResponse("html"), MalformedResponse("html")])
    await quotes.get("MSFT")
    clock.advance(60 + 100)  # fresh for 60 s, then stale for as long as a copy may be
    assert (await quotes.get("MSFT")).state is CacheState.STALE
    clock.advance(10.001)  # past the rest, and the copy is now too old
    with pytest.raises(MalformedResponse):
        await quotes.get("MSFT")


async def test_budget_refusal_serves_stale_or_raises_without_calling(clock: FakeClock) -> None:
    provider = ScriptedProvider()
    quotes, metrics = make(provider, clock, upstream_daily_budget=1, upstream_rate_per_second=0)
    await quotes.get("MSFT")
    with pytest.raises(BudgetExhausted) as refused:
        await quotes.get("AAPL")
    assert refused.value.retry_after == pytest.approx(86400)
    clock.advance(61)
    stale = await quotes.get("MSFT")
    assert stale.state is CacheState.STALE
    assert len(provider.calls) == 1
    assert sample(metrics, "stock_api_upstream_budget_refusals_total", reason="budget") == 2
    assert sample(metrics, "stock_api_upstream_budget_remaining_calls") == 0


async def test_per_second_pace_waits_for_a_slot_within_the_deadline(clock: FakeClock) -> None:
    provider = ScriptedProvider()
    quotes, _ = make(provider, clock, upstream_rate_per_second=1.0)
    start = clock()
    await quotes.get("MSFT")
    await quotes.get("AAPL")
    await quotes.get("IBM")
    assert clock() - start == pytest.approx(2.0)  # the fake sleep moved the clock, no real wait
    assert len(provider.calls) == 3


async def test_unmetered_providers_ignore_the_budget(clock: FakeClock) -> None:
    provider = ScriptedProvider(metered=False)
    quotes, metrics = make(provider, clock, upstream_daily_budget=1, upstream_rate_per_second=1)
    for symbol in ("MSFT", "AAPL", "IBM"):
        await quotes.get(symbol)
    assert clock() == 1000.0
    assert sample(metrics, "stock_api_upstream_budget_remaining_calls") == float("inf")


async def test_refresh_ahead_renews_a_hot_entry_in_the_background(clock: FakeClock) -> None:
    provider = ScriptedProvider()
    quotes, _ = make(provider, clock, refresh_ahead_seconds=10.0)
    first = await quotes.get("MSFT")
    clock.advance(55)  # 5 s of freshness left: inside the refresh-ahead window
    provider.gate = asyncio.Event()
    hit = await quotes.get("MSFT")
    assert hit.state is CacheState.HIT
    assert hit.series is first.series
    again = await quotes.get("MSFT")  # joins the refresh already in flight, still a hit
    assert again.state is CacheState.HIT
    provider.gate.set()
    await quotes.close()  # waits for the refresh in flight
    assert len(provider.calls) == 2
    renewed = await quotes.get("MSFT")
    assert renewed.state is CacheState.HIT
    assert renewed.series is not first.series
    assert renewed.max_age == 60


async def test_failed_refresh_ahead_is_logged_and_the_entry_kept(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    provider = ScriptedProvider()
    quotes, _ = make(provider, clock, refresh_ahead_seconds=10.0)
    first = await quotes.get("MSFT")
    provider.then("MSFT", [UpstreamRejected("premium")])
    clock.advance(55)
    with caplog.at_level(logging.WARNING):
        assert (await quotes.get("MSFT")).series is first.series
        await quotes.close()  # waits for the background refresh to fail
        await asyncio.sleep(0)  # one loop turn: the task's done-callback logs the failure
    assert "refresh ahead failed" in caplog.text
    assert (await quotes.get("MSFT")).series is first.series


async def test_cached_symbols_are_bounded(clock: FakeClock) -> None:
    provider = ScriptedProvider()
    quotes, _ = make(provider, clock, cache_max_symbols=2)
    for symbol in ("A", "B", "C"):
        await quotes.get(symbol)
    assert (await quotes.get("C")).state is CacheState.HIT
    assert (await quotes.get("B")).state is CacheState.HIT
    assert (await quotes.get("A")).state is CacheState.MISS  # evicted first
    assert len(provider.calls) == 4


async def test_a_waiter_that_gives_up_does_not_cancel_the_shared_call(clock: FakeClock) -> None:
    provider = ScriptedProvider()
    quotes, _ = make(provider, clock)
    provider.gate = asyncio.Event()
    impatient = asyncio.ensure_future(quotes.get("MSFT"))
    patient = asyncio.ensure_future(quotes.get("MSFT"))
    await asyncio.sleep(0)
    impatient.cancel()
    provider.gate.set()
    assert (await patient).state is CacheState.MISS
    assert len(provider.calls) == 1


async def test_close_cancels_refreshes_that_outlast_the_grace(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("stock_ticker.service.quotes.CLOSE_GRACE_SECONDS", 0.01)
    provider = ScriptedProvider()
    quotes, _ = make(provider, clock)
    provider.gate = asyncio.Event()  # never set: the upstream hangs
    waiter = asyncio.ensure_future(quotes.get("MSFT"))
    await asyncio.sleep(0)
    await quotes.close()
    with pytest.raises(UpstreamUnavailable, match="shutting down") as refused:
        await waiter  # answered, not cut off
    assert refused.value.retry_after == 1.0
