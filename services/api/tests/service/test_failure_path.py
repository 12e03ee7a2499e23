"""The failure path of `Quotes`: bounded waits, rests, attempts sized for 25 calls a day, capped
hold-offs, the waiting bound, eviction that keeps the operator's symbols, and shutdown."""

from __future__ import annotations

import asyncio
import dataclasses
import logging

import pytest

from stock_ticker.observability.metrics import Metrics
from stock_ticker.service import BudgetExhausted, CacheState, Quotes, TooManyWaiting
from stock_ticker.service.hold_offs import (
    PROBE_WINDOW_SECONDS,
    REST_BASE_SECONDS,
    REST_CAP_SECONDS,
)
from stock_ticker.service.ports import CachedSeries
from stock_ticker.service.single_flight import SingleFlight
from stock_ticker.upstream import (
    MalformedResponse,
    UpstreamThrottled,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from tests.service.scripted import SETTINGS, ScriptedProvider, make, sample, series
from tests.support.clock import FakeClock


def with_flight(
    provider: ScriptedProvider, clock: FakeClock, **overrides: object
) -> tuple[Quotes, Metrics, SingleFlight[str, CachedSeries]]:
    """A `Quotes` whose single flight the test can wait on (a background refresh's end)."""
    metrics = Metrics()
    flight: SingleFlight[str, CachedSeries] = SingleFlight()
    settings = dataclasses.replace(SETTINGS, **overrides)  # type: ignore[arg-type]
    quotes = Quotes(provider, settings, metrics, clock=clock, sleep=clock.sleep, flight=flight)
    return quotes, metrics, flight


async def expired_copy(quotes: Quotes, clock: FakeClock) -> None:
    """MSFT fetched once, then its TTL (60 s) passed: a usable stale copy."""
    assert (await quotes.get("MSFT")).state is CacheState.MISS
    clock.advance(61)


# --- bounded waits --------------------------------------------------------------------------


async def test_with_a_copy_a_slow_refresh_is_waited_for_at_most_stale_wait(
    clock: FakeClock,
) -> None:
    provider = ScriptedProvider()
    quotes, metrics, flight = with_flight(provider, clock, stale_wait_seconds=0.01)
    await expired_copy(quotes, clock)
    provider.gate = asyncio.Event()  # the upstream hangs
    first = await quotes.get("MSFT")
    assert first.state is CacheState.STALE
    assert first.stale_reason is not None
    assert "slow" in first.stale_reason
    again = await quotes.get("MSFT")  # joins the refresh in flight: no second call
    assert again.state is CacheState.STALE
    assert len(provider.calls) == 2
    assert "MSFT" in flight  # the refresh goes on in the background
    fresh = series(close="9")
    provider.then("MSFT", [fresh])
    provider.gate.set()
    await flight.wait_idle()
    hit = await quotes.get("MSFT")
    assert hit.state is CacheState.HIT
    assert hit.series is fresh
    assert sample(metrics, "stock_api_cache_stale_total") == 2


async def test_stale_wait_zero_answers_stale_at_once_and_revalidates(clock: FakeClock) -> None:
    provider = ScriptedProvider()
    quotes, _, flight = with_flight(provider, clock, stale_wait_seconds=0)
    await expired_copy(quotes, clock)
    fresh = series(close="7")
    provider.then("MSFT", [fresh])  # the upstream would answer at once; we do not wait anyway
    stale = await quotes.get("MSFT")
    assert stale.state is CacheState.STALE
    assert quotes.waiting == 0
    await flight.wait_idle()
    hit = await quotes.get("MSFT")
    assert (hit.state, hit.series) == (CacheState.HIT, fresh)


async def test_without_a_copy_a_request_waits_for_the_refresh(clock: FakeClock) -> None:
    provider = ScriptedProvider()
    quotes, _ = make(provider, clock, stale_wait_seconds=0.01)
    provider.gate = asyncio.Event()
    waiting = asyncio.ensure_future(quotes.get("MSFT"))
    done, _ = await asyncio.wait({waiting}, timeout=0.05)  # far beyond the stale wait
    assert not done
    assert quotes.waiting == 1
    provider.gate.set()
    assert (await waiting).state is CacheState.MISS
    assert quotes.waiting == 0


# --- rests ----------------------------------------------------------------------------------


async def test_without_a_copy_a_failed_symbol_rests_and_is_answered_at_once(
    clock: FakeClock,
) -> None:
    provider = ScriptedProvider()
    quotes, _ = make(provider, clock)
    provider.then("MSFT", [MalformedResponse("html")])
    with pytest.raises(MalformedResponse) as first:
        await quotes.get("MSFT")
    assert first.value.retry_after == REST_BASE_SECONDS  # the rest it starts, told at once
    clock.advance(4)
    with pytest.raises(MalformedResponse) as resting:
        await quotes.get("MSFT")
    assert resting.value.retry_after == pytest.approx(REST_BASE_SECONDS - 4)
    assert "html" in resting.value.detail
    assert len(provider.calls) == 1  # no upstream attempt during the rest
    clock.advance(6)
    assert (await quotes.get("MSFT")).state is CacheState.MISS


async def test_the_rest_doubles_with_each_failure_caps_and_resets_on_success(
    clock: FakeClock,
) -> None:
    provider = ScriptedProvider()
    quotes, _ = make(provider, clock, upstream_max_attempts=1)
    provider.then("MSFT", [UpstreamTimeout("slow")] * 7)
    rests = []
    for _ in range(7):
        with pytest.raises(UpstreamTimeout):
            await quotes.get("MSFT")
        with pytest.raises(UpstreamTimeout) as resting:
            await quotes.get("MSFT")
        assert resting.value.retry_after is not None
        rests.append(resting.value.retry_after)
        clock.advance(resting.value.retry_after)
    assert rests == [10, 20, 40, 80, 160, REST_CAP_SECONDS, REST_CAP_SECONDS]
    assert len(provider.calls) == 7
    assert (await quotes.get("MSFT")).state is CacheState.MISS


async def test_after_a_success_the_next_failure_rests_the_shortest_time(clock: FakeClock) -> None:
    provider = ScriptedProvider()
    quotes, _ = make(provider, clock, upstream_max_attempts=1, max_stale_seconds=0)
    provider.then("MSFT", [UpstreamTimeout("a"), UpstreamTimeout("b")])
    for _ in range(2):
        with pytest.raises(UpstreamTimeout):
            await quotes.get("MSFT")
        clock.advance(REST_CAP_SECONDS)
    assert (await quotes.get("MSFT")).state is CacheState.MISS
    clock.advance(61)
    provider.then("MSFT", [UpstreamTimeout("c")])
    with pytest.raises(UpstreamTimeout):
        await quotes.get("MSFT")
    with pytest.raises(UpstreamTimeout) as resting:
        await quotes.get("MSFT")
    assert resting.value.retry_after == REST_BASE_SECONDS


async def test_with_a_copy_the_rest_serves_it_without_calling(clock: FakeClock) -> None:
    provider = ScriptedProvider()
    quotes, _ = make(provider, clock)
    await expired_copy(quotes, clock)
    provider.then("MSFT", [MalformedResponse("html")])
    assert (await quotes.get("MSFT")).state is CacheState.STALE
    clock.advance(REST_BASE_SECONDS - 0.1)
    resting = await quotes.get("MSFT")
    assert resting.state is CacheState.STALE
    assert resting.stale_reason is not None
    assert "refresh failed recently" in resting.stale_reason
    assert len(provider.calls) == 2


async def test_a_refresh_ahead_waits_out_the_rest(clock: FakeClock) -> None:
    provider = ScriptedProvider()
    quotes, _, flight = with_flight(provider, clock, refresh_ahead_seconds=30.0)
    await quotes.get("MSFT")
    clock.advance(35)  # inside the refresh-ahead window
    provider.then("MSFT", [MalformedResponse("html")])
    assert (await quotes.get("MSFT")).state is CacheState.HIT
    await flight.wait_idle()
    assert (await quotes.get("MSFT")).state is CacheState.HIT  # resting: no new call
    await flight.wait_idle()
    assert len(provider.calls) == 2


# --- attempts and quota ---------------------------------------------------------------------


async def test_a_refresh_makes_at_most_upstream_max_attempts(clock: FakeClock) -> None:
    provider = ScriptedProvider()
    quotes, metrics = make(provider, clock)  # the default: 2
    provider.then("MSFT", [UpstreamUnavailable("500")] * 5)
    with pytest.raises(UpstreamUnavailable):
        await quotes.get("MSFT")
    assert len(provider.calls) == 2
    assert sample(metrics, "stock_api_upstream_requests_total", outcome="UpstreamUnavailable") == 2


async def test_a_refresh_after_a_failed_one_probes_with_one_attempt(clock: FakeClock) -> None:
    """An outage costs one call per rest, not UPSTREAM_MAX_ATTEMPTS; a success ends it."""
    provider = ScriptedProvider()
    quotes, _ = make(provider, clock, max_stale_seconds=0)  # the default: 2 attempts
    provider.then("MSFT", [UpstreamUnavailable("500")] * 3)
    with pytest.raises(UpstreamUnavailable):
        await quotes.get("MSFT")
    assert len(provider.calls) == 2  # not known to be failing yet: a retry may ride it out
    for calls in (3, 4):
        clock.advance(REST_CAP_SECONDS)
        provider.then("MSFT", [UpstreamUnavailable("500")] * 2)
        with pytest.raises(UpstreamUnavailable):
            await quotes.get("MSFT")
        assert len(provider.calls) == calls  # a probe: one attempt
    clock.advance(REST_CAP_SECONDS)
    provider.script["MSFT"].clear()
    assert (await quotes.get("MSFT")).state is CacheState.MISS  # the probe that finds it back
    clock.advance(61)
    provider.then("MSFT", [UpstreamUnavailable("500")] * 2)
    with pytest.raises(UpstreamUnavailable):
        await quotes.get("MSFT")
    assert len(provider.calls) == 5 + 2  # healthy again: two attempts


async def test_a_transient_fault_rests_the_upstream_for_every_symbol(clock: FakeClock) -> None:
    """An outage is the upstream's: one probe per rest for all symbols together, not per symbol;
    the others get their stale copy (or the hold-off's answer) without a call or a rest."""
    provider = ScriptedProvider()
    quotes, _ = make(provider, clock)
    for symbol in ("AAPL", "IBM"):
        await quotes.get(symbol)
    clock.advance(61)  # both expired
    provider.then("MSFT", [UpstreamUnavailable("500")] * 2)
    with pytest.raises(UpstreamUnavailable):
        await quotes.get("MSFT")
    assert len(provider.calls) == 2 + 2
    assert (await quotes.get("AAPL")).state is CacheState.STALE
    with pytest.raises(UpstreamUnavailable) as held:
        await quotes.get("GOOG")
    assert "holding off upstream calls" in held.value.detail
    assert held.value.retry_after == REST_BASE_SECONDS
    assert len(provider.calls) == 4
    clock.advance(REST_BASE_SECONDS)
    provider.then("AAPL", [UpstreamUnavailable("500")] * 2)
    assert (await quotes.get("AAPL")).state is CacheState.STALE  # the probe: one attempt
    assert len(provider.calls) == 5
    assert (await quotes.get("IBM")).state is CacheState.STALE  # held off for 20 s now
    assert len(provider.calls) == 5
    clock.advance(2 * REST_BASE_SECONDS)
    assert (await quotes.get("IBM")).state is CacheState.MISS  # back: the rest is over
    provider.then("GOOG", [UpstreamUnavailable("blip")])
    assert (await quotes.get("GOOG")).state is CacheState.MISS  # healthy again: it retried
    assert len(provider.calls) == 5 + 1 + 2


async def test_a_refresh_long_after_a_failure_is_no_probe(clock: FakeClock) -> None:
    """A blip an hour later is ridden out with a retry, as for a symbol that never failed."""
    provider = ScriptedProvider()
    quotes, _ = make(provider, clock, max_stale_seconds=0)
    provider.then("MSFT", [UpstreamUnavailable("500")] * 2)
    with pytest.raises(UpstreamUnavailable):
        await quotes.get("MSFT")
    clock.advance(PROBE_WINDOW_SECONDS + 1)
    provider.then("MSFT", [UpstreamUnavailable("blip")])
    assert (await quotes.get("MSFT")).state is CacheState.MISS  # the retry got it
    assert len(provider.calls) == 2 + 2


async def test_attempts_that_never_reached_the_upstream_are_paced_but_not_counted(
    clock: FakeClock,
) -> None:
    provider = ScriptedProvider()
    quotes, metrics = make(provider, clock, upstream_daily_budget=2, upstream_rate_per_second=1.0)
    unreachable = UpstreamUnavailable("dns", reached=False)
    provider.then("MSFT", [unreachable] * 3)
    start = clock()
    for _ in range(2):  # two attempts, then a probe of one
        with pytest.raises(UpstreamUnavailable):
            await quotes.get("MSFT")
        clock.advance(REST_CAP_SECONDS)
    assert len(provider.calls) == 3
    assert sample(metrics, "stock_api_upstream_budget_remaining_calls") == 2
    assert clock() - start >= 2 * REST_CAP_SECONDS + 1  # the retry waited for its paced slot
    provider.then("MSFT", [UpstreamUnavailable("500", transient=False)])
    with pytest.raises(UpstreamUnavailable):
        await quotes.get("MSFT")
    assert sample(metrics, "stock_api_upstream_budget_remaining_calls") == 1  # this one reached


async def test_a_budget_refusal_spends_nothing_and_starts_no_rest(clock: FakeClock) -> None:
    provider = ScriptedProvider()
    quotes, _ = make(provider, clock, upstream_daily_budget=1)
    await quotes.get("AAPL")
    for _ in range(2):  # asked again at once: the budget's own time, not a rest
        with pytest.raises(BudgetExhausted) as refused:
            await quotes.get("MSFT")
        assert refused.value.retry_after == pytest.approx(86400)
    assert len(provider.calls) == 1


# --- hold-offs ------------------------------------------------------------------------------


async def test_an_upstream_retry_after_is_honoured_only_up_to_max_hold_off(
    clock: FakeClock,
) -> None:
    provider = ScriptedProvider()
    quotes, _ = make(provider, clock, max_hold_off_seconds=3600.0)
    provider.then("MSFT", [UpstreamUnavailable("503", retry_after=31_536_000)])
    with pytest.raises(UpstreamUnavailable) as first:
        await quotes.get("MSFT")
    assert first.value.retry_after == 3600  # what clients are told never exceeds the cap
    clock.advance(1800)
    with pytest.raises(UpstreamUnavailable) as held:
        await quotes.get("AAPL")  # every symbol holds off
    assert held.value.retry_after == pytest.approx(1800)
    clock.advance(1800)  # a year's Retry-After ends after an hour
    assert (await quotes.get("AAPL")).state is CacheState.MISS
    assert (await quotes.get("MSFT")).state is CacheState.MISS
    assert len(provider.calls) == 3


async def test_a_hold_off_serves_stale_copies_and_is_no_rest(clock: FakeClock) -> None:
    provider = ScriptedProvider()
    quotes, metrics = make(provider, clock)
    await expired_copy(quotes, clock)
    provider.then("AAPL", [UpstreamThrottled("limit", retry_after=5)])
    with pytest.raises(UpstreamThrottled):
        await quotes.get("AAPL")
    held = await quotes.get("MSFT")
    assert held.state is CacheState.STALE
    assert held.stale_reason is not None
    assert "holding off" in held.stale_reason
    assert sample(metrics, "stock_api_upstream_budget_refusals_total", reason="hold_off") == 1
    clock.advance(5)  # the hold-off is over: MSFT, which never failed, refreshes at once
    assert (await quotes.get("MSFT")).state is CacheState.MISS


# --- the waiting bound ----------------------------------------------------------------------


async def test_beyond_max_waiting_requests_requests_are_answered_at_once(
    clock: FakeClock,
) -> None:
    provider = ScriptedProvider()
    quotes, metrics = make(provider, clock, max_waiting_requests=2, stale_wait_seconds=60)
    await expired_copy(quotes, clock)  # MSFT has a stale copy; AAPL has none
    provider.gate = asyncio.Event()
    waiters = [asyncio.ensure_future(quotes.get(s)) for s in ("AAPL", "MSFT")]
    await asyncio.sleep(0)  # both start waiting
    assert quotes.waiting == 2
    assert sample(metrics, "stock_api_refresh_waiting_requests") == 2
    with pytest.raises(TooManyWaiting) as busy:
        await quotes.get("AAPL")
    assert busy.value.retry_after == 1.0
    overflow = await quotes.get("MSFT")
    assert overflow.state is CacheState.STALE
    assert overflow.stale_reason is not None
    assert "too many" in overflow.stale_reason
    assert sample(metrics, "stock_api_refresh_waiting_overflow_total") == 2
    provider.gate.set()
    assert [(await w).state for w in waiters] == [CacheState.MISS, CacheState.MISS]
    assert quotes.waiting == 0


async def test_a_request_that_is_cancelled_stops_waiting_and_the_refresh_goes_on(
    clock: FakeClock,
) -> None:
    provider = ScriptedProvider()
    quotes, _ = make(provider, clock)
    provider.gate = asyncio.Event()
    leaving = asyncio.ensure_future(quotes.get("MSFT"))
    await asyncio.sleep(0)  # one loop turn: the request runs up to its wait (no I/O here)
    assert quotes.waiting == 1
    leaving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leaving
    assert quotes.waiting == 0
    provider.gate.set()
    staying = await quotes.get("MSFT")  # the refresh the leaver started, not a new one
    assert staying.state is CacheState.MISS
    assert len(provider.calls) == 1


# --- eviction -------------------------------------------------------------------------------


async def test_churn_never_evicts_the_operators_symbols_and_the_rest_goes_lru(
    clock: FakeClock,
) -> None:
    provider = ScriptedProvider()
    quotes, _ = make(
        provider,
        clock,
        symbol="MSFT",
        allowed_symbols=frozenset({"IBM"}),
        allow_any_symbol=True,
        cache_max_symbols=2,
    )
    for symbol in ("MSFT", "IBM", "A", "B"):
        await quotes.get(symbol)
    assert (await quotes.get("A")).state is CacheState.HIT  # A is now used more recently than B
    for symbol in [f"X{i}" for i in range(300)] + ["C"]:
        await quotes.get(symbol)
    assert (await quotes.get("MSFT")).state is CacheState.HIT
    assert (await quotes.get("IBM")).state is CacheState.HIT
    assert (await quotes.get("C")).state is CacheState.HIT
    calls = len(provider.calls)
    assert (await quotes.get("A")).state is CacheState.MISS  # churned out in the end
    assert len(provider.calls) == calls + 1


async def test_lru_is_by_request_not_by_refresh(clock: FakeClock) -> None:
    provider = ScriptedProvider()
    quotes, _ = make(provider, clock, allow_any_symbol=True, cache_max_symbols=2, symbol="Z")
    await quotes.get("A")
    await quotes.get("B")
    assert (await quotes.get("A")).state is CacheState.HIT  # read A: B is now the oldest use
    await quotes.get("C")
    assert (await quotes.get("A")).state is CacheState.HIT
    assert (await quotes.get("B")).state is CacheState.MISS


# --- shutdown -------------------------------------------------------------------------------


async def test_at_shutdown_refreshes_are_cancelled_and_their_waiters_answered(
    clock: FakeClock,
) -> None:
    provider = ScriptedProvider()
    quotes, _ = make(provider, clock, stale_wait_seconds=60)
    await expired_copy(quotes, clock)
    provider.gate = asyncio.Event()  # never set: the upstream hangs
    cold = asyncio.ensure_future(quotes.get("AAPL"))
    stale = asyncio.ensure_future(quotes.get("MSFT"))
    await asyncio.sleep(0)  # one loop turn: the request runs up to its wait (no I/O here)
    quotes.cancel_refreshes_after(0)
    answered = await stale
    assert answered.state is CacheState.STALE
    assert answered.stale_reason == "the service is shutting down"
    with pytest.raises(UpstreamUnavailable, match="shutting down"):
        await cold
    await quotes.close()


async def test_a_defect_in_a_refresh_is_not_mistaken_for_an_upstream_fault(
    clock: FakeClock,
) -> None:
    provider = ScriptedProvider()
    quotes, _ = make(provider, clock)

    async def broken(symbol: str, *, timeout: float) -> object:
        raise RuntimeError("bug")

    provider.fetch_daily_series = broken  # type: ignore[assignment]
    with pytest.raises(RuntimeError, match="bug"):
        await quotes.get("MSFT")


async def test_a_hold_off_that_starts_while_a_refresh_waits_for_its_slot_stops_it(
    clock: FakeClock,
) -> None:
    provider = ScriptedProvider()
    quotes, metrics = make(provider, clock, upstream_rate_per_second=1.0, upstream_daily_budget=5)

    async def throttled_meanwhile(seconds: float) -> None:  # another refresh got throttled
        await quotes._hold_offs.hold(60, UpstreamThrottled("limit", retry_after=60))
        await clock.sleep(seconds)

    quotes._fetcher._sleep = throttled_meanwhile
    assert (await quotes.get("AAPL")).state is CacheState.MISS  # the first slot: no wait
    with pytest.raises(UpstreamThrottled, match="holding off"):
        await quotes.get("MSFT")  # waits a second for its slot; the hold-off starts meanwhile
    assert [symbol for symbol, _ in provider.calls] == ["AAPL"]  # MSFT never called
    assert sample(metrics, "stock_api_upstream_budget_remaining_calls") == 4  # slot refunded
    clock.advance(60)
    assert (await quotes.get("MSFT")).state is CacheState.MISS  # and MSFT did not rest


async def test_a_hold_off_between_attempts_is_not_a_failure_of_the_symbol(
    clock: FakeClock,
) -> None:
    provider = ScriptedProvider()
    quotes, _ = make(provider, clock)
    provider.then("MSFT", [UpstreamUnavailable("500")])

    async def throttle_meanwhile(seconds: float) -> None:  # another refresh got throttled
        await quotes._hold_offs.hold(30, UpstreamThrottled("limit", retry_after=30))
        await clock.sleep(seconds)

    quotes._fetcher._sleep = throttle_meanwhile
    with pytest.raises(UpstreamUnavailable, match="500") as failed:
        await quotes.get("MSFT")  # the attempt's own error, not the hold-off
    assert len(provider.calls) == 1
    assert failed.value.retry_after == REST_BASE_SECONDS


async def test_a_budget_refusal_after_a_failed_attempt_reports_the_attempt(
    clock: FakeClock,
) -> None:
    provider = ScriptedProvider()
    quotes, _ = make(provider, clock, upstream_daily_budget=1)
    provider.then("MSFT", [UpstreamUnavailable("500")])
    with pytest.raises(UpstreamUnavailable, match="500"):  # not "budget spent"
        await quotes.get("MSFT")
    with pytest.raises(UpstreamUnavailable, match="refresh failed recently"):
        await quotes.get("MSFT")  # and the symbol rests: a call was spent
    assert len(provider.calls) == 1


async def test_a_copy_stays_usable_for_max_stale_after_its_freshness_ends(
    clock: FakeClock,
) -> None:
    provider = ScriptedProvider()
    quotes, _ = make(provider, clock, cache_ttl_seconds=3 * 86400.0, max_stale_seconds=3600.0)
    await quotes.get("MSFT")  # fresh for three days, as over a long weekend
    clock.advance(3 * 86400 + 3599)
    provider.then("MSFT", [UpstreamUnavailable("down", transient=False)])
    stale = await quotes.get("MSFT")  # the first failure after the weekend still has a copy
    assert stale.state is CacheState.STALE
    assert stale.age == 3 * 86400 + 3599


async def test_refresh_ahead_tries_once_per_rest_and_logs_it_once(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    provider = ScriptedProvider()
    quotes, _, flight = with_flight(provider, clock, refresh_ahead_seconds=30.0)
    await quotes.get("MSFT")
    clock.advance(35)  # inside the refresh-ahead window
    provider.then("MSFT", [MalformedResponse("html")])
    with caplog.at_level(logging.WARNING, logger="stock_ticker.service.quotes"):
        for _ in range(100):
            assert (await quotes.get("MSFT")).state is CacheState.HIT
            await flight.wait_idle()
    assert len(provider.calls) == 2
    assert caplog.text.count("refresh ahead failed") == 1
    clock.advance(REST_BASE_SECONDS)  # the rest is over, the entry still fresh: a new try
    assert (await quotes.get("MSFT")).state is CacheState.HIT
    await flight.wait_idle()
    assert len(provider.calls) == 3


async def test_after_the_shutdown_grace_no_refresh_starts(clock: FakeClock) -> None:
    provider = ScriptedProvider()
    quotes, _ = make(provider, clock)
    await expired_copy(quotes, clock)
    quotes.cancel_refreshes_after(0)
    fired = asyncio.Event()  # timers due at the same time run in the order they were set
    asyncio.get_running_loop().call_later(0, fired.set)
    await fired.wait()
    stale = await quotes.get("MSFT")
    assert (stale.state, stale.stale_reason) == (CacheState.STALE, "the service is shutting down")
    with pytest.raises(UpstreamUnavailable, match="shutting down"):
        await quotes.get("AAPL")
    assert len(provider.calls) == 1  # only the copy's fetch, before shutdown
    await quotes.close()


async def test_with_stale_wait_zero_the_waiting_bound_does_not_stop_revalidation(
    clock: FakeClock,
) -> None:
    provider = ScriptedProvider()
    quotes, _, flight = with_flight(provider, clock, stale_wait_seconds=0, max_waiting_requests=1)
    await expired_copy(quotes, clock)
    provider.gate = asyncio.Event()
    cold = asyncio.ensure_future(quotes.get("AAPL"))  # the one request allowed to wait
    await asyncio.sleep(0)  # one loop turn: the request runs up to its wait (no I/O here)
    assert quotes.waiting == 1
    assert (await quotes.get("MSFT")).state is CacheState.STALE  # answered without waiting...
    assert "MSFT" in flight  # ...and its refresh started all the same
    provider.gate.set()
    await cold
    await flight.wait_idle()
    assert (await quotes.get("MSFT")).state is CacheState.HIT


async def test_a_refresh_ahead_finds_a_rest_set_elsewhere_and_calls_nothing(
    clock: FakeClock,
) -> None:
    provider = ScriptedProvider()
    quotes, _, flight = with_flight(provider, clock, refresh_ahead_seconds=30.0)
    await quotes.get("MSFT")
    clock.advance(35)  # inside the refresh-ahead window
    # A rest this process did not start (another replica's, through a shared store).
    await quotes._hold_offs.failed("MSFT", MalformedResponse("html"), 0.0)
    assert (await quotes.get("MSFT")).state is CacheState.HIT
    await flight.wait_idle()
    assert len(provider.calls) == 1
