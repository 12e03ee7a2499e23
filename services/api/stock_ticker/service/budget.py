"""Keep upstream calls within a per-second pace and a rolling 24-hour budget, in process memory."""

from __future__ import annotations

import contextlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from stock_ticker.service.errors import BudgetExhausted

DAY_SECONDS = 86400.0


@dataclass(frozen=True, slots=True)
class Slot:
    """A reserved call: when it may be made (on the budget's clock) and how long to wait for it.
    A slot from the shared budget also names its entry there (`ticket`), to refund it."""

    at: float
    wait: float
    ticket: str | None = None


class UpstreamBudget:
    """Hands out call slots: spaced at least `1/rate` apart and at most `daily` per 24 hours.

    The day is a rolling window rather than a calendar day: we cannot know when the upstream's
    own counter resets, and a rolling window never exceeds it whatever that time is. A slot is
    reserved without yielding to the loop, so concurrent callers never share one. `0` disables
    either limit. The in-process `CallBudget` (service/ports.py).
    """

    def __init__(
        self,
        rate_per_second: float,
        daily: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._spacing = 1.0 / rate_per_second if rate_per_second > 0 else 0.0
        self._daily = daily
        self._clock = clock
        self._next_slot = 0.0
        self._calls: deque[float] = deque()

    async def reserve(self, max_wait: float) -> Slot:
        """Reserve the next slot, or raise `BudgetExhausted` if none is free within `max_wait`."""
        now = self._clock()
        self._forget_before(now - DAY_SECONDS)
        if self._daily and len(self._calls) >= self._daily:
            raise BudgetExhausted(
                f"upstream daily budget of {self._daily} calls is spent",
                retry_after=self._calls[0] + DAY_SECONDS - now,
            )
        start = max(now, self._next_slot)
        if start - now > max_wait:
            raise BudgetExhausted(
                "upstream calls are paced and no slot is free in time", retry_after=start - now
            )
        if self._spacing:
            self._next_slot = start + self._spacing
        self._calls.append(start)
        return Slot(start, start - now)

    async def refund(self, slot: Slot) -> None:
        """Give back the daily share of a call that never reached the upstream (the pace stays:
        the next attempt is still spaced from this one)."""
        with contextlib.suppress(ValueError):  # already outside the rolling day
            self._calls.remove(slot.at)

    def remaining_today(self) -> float:
        """Calls left in the rolling day (infinity when unlimited)."""
        if not self._daily:
            return float("inf")
        self._forget_before(self._clock() - DAY_SECONDS)
        return float(self._daily - len(self._calls))

    def _forget_before(self, horizon: float) -> None:
        while self._calls and self._calls[0] <= horizon:
            self._calls.popleft()
