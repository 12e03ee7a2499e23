"""UpstreamBudget: per-second pacing and a rolling 24-hour budget, on a clock moved by hand."""

from __future__ import annotations

import math

import pytest

from stock_ticker.service.budget import DAY_SECONDS, UpstreamBudget
from stock_ticker.service.errors import BudgetExhausted
from tests.support.clock import FakeClock as ManualClock

LONG = 1e9  # a max_wait that never limits


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=5000.0)


async def test_a_day_is_24_hours() -> None:
    assert DAY_SECONDS == 24 * 60 * 60


# --- per-second pacing ----------------------------------------------------------------------


async def test_first_call_needs_no_wait(clock: ManualClock) -> None:
    assert (await UpstreamBudget(1.0, 25, clock).reserve(max_wait=0)).wait == 0


async def test_callers_at_the_same_instant_get_growing_waits(clock: ManualClock) -> None:
    budget = UpstreamBudget(1.0, 0, clock)

    waits = [(await budget.reserve(max_wait=LONG)).wait for _ in range(5)]

    assert waits == [0.0, 1.0, 2.0, 3.0, 4.0]


async def test_spacing_is_one_over_the_rate(clock: ManualClock) -> None:
    budget = UpstreamBudget(4.0, 0, clock)

    assert [(await budget.reserve(max_wait=LONG)).wait for _ in range(4)] == [0.0, 0.25, 0.5, 0.75]


async def test_a_slow_rate_spaces_calls_further_apart(clock: ManualClock) -> None:
    budget = UpstreamBudget(0.5, 0, clock)  # one call per 2 s

    assert [(await budget.reserve(max_wait=LONG)).wait for _ in range(3)] == [0.0, 2.0, 4.0]


async def test_time_passing_shortens_the_wait(clock: ManualClock) -> None:
    budget = UpstreamBudget(1.0, 0, clock)
    await budget.reserve(max_wait=LONG)

    clock.advance(0.25)
    assert (await budget.reserve(max_wait=LONG)).wait == pytest.approx(0.75)

    clock.advance(10)  # long after every reserved slot
    assert (await budget.reserve(max_wait=LONG)).wait == 0


async def test_a_wait_exactly_max_wait_is_allowed(clock: ManualClock) -> None:
    budget = UpstreamBudget(1.0, 0, clock)
    await budget.reserve(max_wait=0)

    assert (await budget.reserve(max_wait=1.0)).wait == 1.0


async def test_a_wait_longer_than_max_wait_is_refused_with_retry_after(clock: ManualClock) -> None:
    budget = UpstreamBudget(1.0, 0, clock)
    await budget.reserve(max_wait=LONG)
    await budget.reserve(max_wait=LONG)  # next free slot is now 2 s away

    with pytest.raises(BudgetExhausted) as info:
        await budget.reserve(max_wait=1.5)

    assert info.value.retry_after == pytest.approx(2.0)
    assert "paced" in info.value.detail


async def test_a_refused_caller_does_not_take_a_slot(clock: ManualClock) -> None:
    budget = UpstreamBudget(1.0, 3, clock)
    await budget.reserve(max_wait=LONG)
    with pytest.raises(BudgetExhausted):
        await budget.reserve(max_wait=0.5)

    assert budget.remaining_today() == 2  # the refusal spent nothing
    assert (
        await budget.reserve(max_wait=LONG)
    ).wait == 1.0  # the slot it was refused is still the next one


# --- the rolling daily budget ---------------------------------------------------------------


async def test_remaining_today_counts_down(clock: ManualClock) -> None:
    budget = UpstreamBudget(0, 3, clock)

    assert budget.remaining_today() == 3
    await budget.reserve(max_wait=0)
    assert budget.remaining_today() == 2
    await budget.reserve(max_wait=0)
    await budget.reserve(max_wait=0)
    assert budget.remaining_today() == 0
    assert isinstance(budget.remaining_today(), float)


async def test_a_spent_budget_refuses_with_retry_after_until_the_oldest_call_ages_out(
    clock: ManualClock,
) -> None:
    budget = UpstreamBudget(0, 3, clock)
    start = clock.now
    for _ in range(3):
        await budget.reserve(max_wait=0)
        clock.advance(1000)  # calls at start, start+1000, start+2000; now start+3000

    with pytest.raises(BudgetExhausted) as info:
        await budget.reserve(max_wait=LONG)  # however long the caller would wait

    assert info.value.retry_after == pytest.approx(DAY_SECONDS - 3000)
    assert "daily budget of 3" in info.value.detail

    # one second before the first call is a day old: still spent
    clock.now = start + DAY_SECONDS - 1
    with pytest.raises(BudgetExhausted) as info:
        await budget.reserve(max_wait=LONG)
    assert info.value.retry_after == pytest.approx(1)

    # after retry_after, exactly one call is free again
    clock.advance(info.value.retry_after)
    assert budget.remaining_today() == 1
    assert (await budget.reserve(max_wait=0)).wait == 0
    with pytest.raises(BudgetExhausted) as info:
        await budget.reserve(max_wait=0)
    assert info.value.retry_after == pytest.approx(1000)  # the second call ages out next


async def test_the_window_rolls_without_calls(clock: ManualClock) -> None:
    budget = UpstreamBudget(0, 2, clock)
    await budget.reserve(max_wait=0)
    clock.advance(3600)
    await budget.reserve(max_wait=0)
    assert budget.remaining_today() == 0

    clock.advance(DAY_SECONDS - 3600)
    assert budget.remaining_today() == 1
    clock.advance(3600)
    assert budget.remaining_today() == 2


async def test_the_day_is_rolling_not_a_calendar_day(clock: ManualClock) -> None:
    # Calls just before and just after any midnight still count against the same 24 hours.
    budget = UpstreamBudget(0, 2, clock)
    await budget.reserve(max_wait=0)
    clock.advance(60)
    await budget.reserve(max_wait=0)
    clock.advance(3 * 3600)

    with pytest.raises(BudgetExhausted):
        await budget.reserve(max_wait=LONG)


async def test_daily_limit_is_checked_before_pacing(clock: ManualClock) -> None:
    budget = UpstreamBudget(1.0, 2, clock)
    assert (await budget.reserve(max_wait=LONG)).wait == 0
    assert (await budget.reserve(max_wait=LONG)).wait == 1.0  # a future slot counts as spent

    with pytest.raises(BudgetExhausted) as info:
        await budget.reserve(max_wait=LONG)

    assert "daily" in info.value.detail
    assert info.value.retry_after == pytest.approx(DAY_SECONDS)


async def test_a_call_counts_from_its_slot_not_from_when_it_was_reserved(
    clock: ManualClock,
) -> None:
    budget = UpstreamBudget(1.0, 2, clock)
    start = clock.now
    await budget.reserve(max_wait=LONG)  # made at start
    assert (await budget.reserve(max_wait=LONG)).wait == 1.0  # made at start + 1

    clock.now = start + DAY_SECONDS  # the first call is a day old, the second is not yet
    assert budget.remaining_today() == 1
    clock.advance(1)
    assert budget.remaining_today() == 2


# --- limits disabled ------------------------------------------------------------------------


async def test_both_limits_disabled_with_zero(clock: ManualClock) -> None:
    budget = UpstreamBudget(0, 0, clock)

    assert all([(await budget.reserve(max_wait=0)).wait == 0 for _ in range(10_000)])
    assert budget.remaining_today() == math.inf


async def test_zero_daily_keeps_pacing(clock: ManualClock) -> None:
    budget = UpstreamBudget(2.0, 0, clock)

    assert [(await budget.reserve(max_wait=LONG)).wait for _ in range(3)] == [0.0, 0.5, 1.0]
    assert budget.remaining_today() == math.inf


async def test_zero_rate_keeps_the_daily_budget(clock: ManualClock) -> None:
    budget = UpstreamBudget(0, 2, clock)

    assert (await budget.reserve(max_wait=0)).wait == 0
    assert (await budget.reserve(max_wait=0)).wait == 0  # no spacing
    with pytest.raises(BudgetExhausted):
        await budget.reserve(max_wait=0)


# --- the default clock ----------------------------------------------------------------------


async def test_default_clock_is_monotonic_time() -> None:
    budget = UpstreamBudget(1.0, 0)  # a real clock: only look at the reservation, never sleep

    assert (await budget.reserve(max_wait=0)).wait == 0
    with pytest.raises(BudgetExhausted) as info:
        await budget.reserve(max_wait=0)
    assert 0.5 < info.value.retry_after <= 1.0


async def test_a_refunded_slot_gives_back_its_daily_share_but_not_its_pace(
    clock: ManualClock,
) -> None:
    budget = UpstreamBudget(1.0, 2, clock)
    slot = await budget.reserve(max_wait=LONG)
    assert budget.remaining_today() == 1
    await budget.refund(slot)
    assert budget.remaining_today() == 2
    assert (await budget.reserve(max_wait=LONG)).wait == 1.0  # still spaced from the refunded one
    await budget.refund(slot)  # refunding twice gives nothing more
    assert budget.remaining_today() == 1
