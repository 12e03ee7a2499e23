"""The mechanisms the cache policy (`Quotes`) drives, each behind a small interface.

The in-process implementations come first (`MemorySeriesStore`, `SingleFlight`,
`UpstreamBudget`, `MemoryHoldOffs`); a deployment-wide store implements the same methods. Every
method that may need a round trip is async; the one exception is `SeriesStore.peek`, the warm
path's synchronous read of the in-process tier.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from stock_ticker.domain import PriceSeries
from stock_ticker.service.budget import Slot
from stock_ticker.service.errors import BudgetExhausted
from stock_ticker.upstream import UpstreamError

#: What a failed refresh raised: an `UpstreamError`, or `BudgetExhausted` (no call was made).
Failure = UpstreamError | BudgetExhausted


@dataclass(frozen=True, slots=True)
class CachedSeries:
    """A symbol's parsed series, when it was fetched and until when it is fresh (service clock)."""

    series: PriceSeries
    fetched_at: float
    fresh_until: float
    #: When it was fetched as a Unix time in whole seconds (HTTP's Last-Modified).
    modified: int = 0


@dataclass(frozen=True, slots=True)
class Hold:
    """No upstream call until `until` (service clock), because of `cause`."""

    until: float
    cause: Failure


class SeriesStore(Protocol):
    """Cached series (and remembered unknown symbols) by key."""

    def peek(self, key: str) -> Any:
        """What is stored under `key` in process memory, or None, without yielding. A read by
        a request counts as a use (least recently used goes first)."""

    async def set(self, key: str, value: Any, ttl: float) -> None: ...

    async def pull(self, *keys: str) -> bool:
        """Copy into process memory what a deployment-wide tier holds under `keys` that is
        newer than what is there (one round trip); True if anything came. A store with no
        such tier returns False at once."""

    async def close(self) -> None: ...


class Flight(Protocol):
    """At most one refresh per symbol at a time; everyone asking shares its task."""

    def start(
        self, key: str, call: Callable[[], Coroutine[Any, Any, CachedSeries]]
    ) -> asyncio.Task[CachedSeries]: ...

    def __contains__(self, key: str) -> bool: ...

    def cancel_all(self) -> None: ...

    async def wait_idle(self, timeout: float | None = None) -> None: ...


class CallBudget(Protocol):
    """The upstream's pace and daily quota, counted before each call."""

    async def reserve(self, max_wait: float) -> Slot:
        """A slot within `max_wait` seconds, or `BudgetExhausted`."""

    async def refund(self, slot: Slot) -> None:
        """The call did not reach the upstream: its daily share is given back."""

    def remaining_today(self) -> float:
        """Calls left in the rolling day, for the gauge (may be the last known value)."""


class HoldOffs(Protocol):
    """When the upstream must be left alone: a key-wide hold-off after a throttle or
    `Retry-After`, and a per-symbol rest after a failed refresh."""

    async def held(self) -> Hold | None:
        """The key-wide hold-off in force, if any."""

    async def hold(self, seconds: float, cause: Failure) -> None: ...

    async def resting(self, symbol: str) -> Hold | None:
        """The symbol's rest in force, if any."""

    async def failed(self, symbol: str, cause: Failure, at_least: float) -> float:
        """Start (or lengthen) the symbol's rest; return its length in seconds."""

    async def failing(self, *symbols: str) -> bool:
        """Whether any of `symbols` last failed less than `PROBE_WINDOW_SECONDS` ago: a refresh
        then probes an upstream known to be failing. One question, however many names."""

    async def succeeded(self, *symbols: str) -> None:
        """A refresh worked: the next failure of each of `symbols` starts from the shortest
        rest again."""
