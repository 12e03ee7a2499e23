"""A monotonic clock the tests move by hand, so that TTLs, rests and budgets are tested without
waiting for them."""

from __future__ import annotations

import asyncio


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        """Stand-in for asyncio.sleep: time passes at once, other tasks still get to run."""
        self.now += seconds
        await asyncio.sleep(0)
