"""The use case: a symbol's daily series, from cache when fresh, from the upstream when not.

Cache policy in one place:
- one entry per symbol holds the parsed series; any `ndays` is a slice of it;
- an entry is fresh for the TTL, then kept as a fallback until it is `max_stale_seconds` old;
- concurrent misses for a symbol share one upstream call (single flight);
- only a successful parse is stored; an unknown symbol is remembered briefly (negative cache);
- a failed refresh falls back to the stale copy, and the symbol then rests for a cooldown so
  clients are answered from it at once instead of each waiting on a failing upstream;
- a throttle makes the service hold off every upstream call for the time it announced;
- the number of cached symbols is bounded; the least recently refreshed goes first.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeGuard

from prometheus_async import aio

from stock_ticker.config import Settings
from stock_ticker.domain import PriceSeries
from stock_ticker.observability.metrics import Metrics
from stock_ticker.service.budget import UpstreamBudget
from stock_ticker.service.errors import BudgetExhausted
from stock_ticker.service.memory_cache import MemoryCache
from stock_ticker.service.single_flight import SingleFlight
from stock_ticker.upstream import (
    PriceProvider,
    UnknownSymbol,
    UpstreamError,
    UpstreamRejected,
    UpstreamThrottled,
)

log = logging.getLogger(__name__)

#: At shutdown, how long refreshes in flight may still take before they are cancelled.
CLOSE_GRACE_SECONDS = 5.0
#: Seconds a symbol rests after a failed refresh when the upstream gave no `Retry-After`.
FAILURE_COOLDOWN_SECONDS = 10.0
#: Backoff between retries: full jitter over base * 2**attempt, capped.
RETRY_BASE_SECONDS = 0.25
RETRY_CAP_SECONDS = 4.0
#: A retry that would get less time than this is not made: it could only turn a 503 into a 504.
MIN_ATTEMPT_SECONDS = 0.5


class CacheState(enum.StrEnum):
    HIT = "HIT"
    MISS = "MISS"
    STALE = "STALE"


@dataclass(slots=True)
class Quote:
    """A series and how it was obtained, for the web layer to render.

    Not frozen: one is built per warm request, and a frozen dataclass's `__init__` costs four
    times as much. Nothing keeps a `Quote` after rendering it.
    """

    series: PriceSeries
    source: str
    state: CacheState
    max_age: int
    age: int
    stale_reason: str | None = None


@dataclass(frozen=True, slots=True)
class _Entry:
    series: PriceSeries
    fetched_at: float
    fresh_until: float


class Quotes:
    """Serves `PriceSeries` by symbol with the cache policy described in the module docstring."""

    def __init__(
        self,
        provider: PriceProvider,
        settings: Settings,
        metrics: Metrics,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        budget: UpstreamBudget | None = None,
    ) -> None:
        self._provider = provider
        self._settings = settings
        self._metrics = metrics
        self._clock = clock
        self._sleep = sleep
        self._cache = MemoryCache()
        self._keys: OrderedDict[str, None] = OrderedDict()
        self._flight: SingleFlight[str, _Entry] = SingleFlight()
        self._cooldown_until: dict[str, float] = {}
        # After a throttle, or an upstream that said when to come back: no call until then.
        self._hold_off_until = 0.0
        self._hold_off_cause: UpstreamError = UpstreamThrottled("upstream rate limit reached")
        self._budget = (
            budget
            if budget is not None
            else UpstreamBudget(
                settings.upstream_rate_per_second, settings.upstream_daily_budget, clock
            )
        )
        if provider.metered:
            metrics.bind_budget(self._budget.remaining_today)

    @property
    def source(self) -> str:
        return self._provider.name

    async def get(self, symbol: str) -> Quote:
        """The series for `symbol`; raises `UpstreamError` or `BudgetExhausted` with no fallback."""
        entry: _Entry | None = self._cache.peek(symbol)
        now = self._clock()
        if entry is not None and now < entry.fresh_until:
            self._metrics.cache["hit"] += 1
            if entry.fresh_until - now <= self._settings.refresh_ahead_seconds:
                self._refresh_in_background(symbol)
            return Quote(
                entry.series, self.source, CacheState.HIT, round(entry.fresh_until - now), 0
            )
        if self._cache.peek(_unknown_key(symbol)):
            if self._usable(entry, now):
                return self._stale(entry, now, "upstream no longer knows this symbol")
            self._metrics.cache["hit"] += 1
            raise UnknownSymbol("upstream does not know this symbol (remembered)")
        if entry is not None and now < self._cooldown_until.get(symbol, 0.0):
            return self._stale(entry, now, "upstream refresh failed recently")
        self._metrics.cache["miss"] += 1
        try:
            fresh = await self._flight.run(symbol, lambda: self._refresh(symbol))
        except (UpstreamError, BudgetExhausted) as exc:
            if not self._usable(entry, now):
                raise
            self._cooldown_until[symbol] = self._clock() + (
                exc.retry_after or FAILURE_COOLDOWN_SECONDS
            )
            return self._stale(entry, self._clock(), exc.detail)
        return Quote(
            fresh.series, self.source, CacheState.MISS, round(fresh.fresh_until - self._clock()), 0
        )

    async def close(self) -> None:
        """Let refreshes in flight finish (their quota is spent), within a bound, then drop the
        cache. The bound keeps shutdown inside the Deployment's grace period."""
        await self._flight.wait_idle(timeout=CLOSE_GRACE_SECONDS)
        await self._cache.close()

    def _usable(self, entry: _Entry | None, now: float) -> TypeGuard[_Entry]:
        """Whether `entry` may still be served stale."""
        return entry is not None and now - entry.fetched_at <= self._settings.max_stale_seconds

    def _stale(self, entry: _Entry, now: float, reason: str) -> Quote:
        self._metrics.cache["stale"] += 1
        return Quote(
            entry.series, self.source, CacheState.STALE, 0, int(now - entry.fetched_at), reason
        )

    def _refresh_in_background(self, symbol: str) -> None:
        def report(task: asyncio.Task[_Entry]) -> None:
            exc = None if task.cancelled() else task.exception()
            if exc is not None:
                log.warning("refresh ahead failed", extra={"symbol": symbol, "error": str(exc)})

        if symbol not in self._flight:  # one refresh, and one report, per expiry
            self._flight.start(symbol, lambda: self._refresh(symbol)).add_done_callback(report)

    async def _refresh(self, symbol: str) -> _Entry:
        try:
            series = await self._fetch_with_retries(symbol)
        except UnknownSymbol:
            if self._settings.negative_cache_seconds > 0:
                await self._store(_unknown_key(symbol), True, self._settings.negative_cache_seconds)
            raise
        now = self._clock()
        entry = _Entry(series, now, now + self._settings.cache_ttl_seconds)
        await self._store(
            symbol, entry, max(self._settings.cache_ttl_seconds, self._settings.max_stale_seconds)
        )
        self._cooldown_until.pop(symbol, None)
        return entry

    async def _store(self, key: str, value: object, ttl: float) -> None:
        await self._cache.set(key, value, ttl=ttl)
        self._keys[key] = None
        self._keys.move_to_end(key)
        while len(self._keys) > self._settings.cache_max_symbols:
            oldest, _ = self._keys.popitem(last=False)
            await self._cache.delete(oldest)
            self._cooldown_until.pop(oldest, None)

    async def _fetch_with_retries(self, symbol: str) -> PriceSeries:
        """Try until success, a permanent error, or the overall deadline."""
        deadline = self._clock() + self._settings.upstream_deadline_seconds
        attempt = 0
        while True:
            await self._wait_for_slot(deadline)
            remaining = deadline - self._clock()
            call = self._provider.fetch_daily_series(
                symbol, timeout=min(self._settings.upstream_timeout_seconds, remaining)
            )
            try:
                series = await aio.time(self._metrics.upstream_duration, call)
            except UpstreamError as exc:
                self._metrics.count_upstream(type(exc).__name__)
                self._note_failure(symbol, exc)
                attempt += 1
                jitter = random.uniform(0, min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2**attempt))  # noqa: S311 - jitter, not security
                backoff = max(jitter, exc.retry_after or 0.0)  # never sooner than it asked
                if not exc.transient or self._clock() + backoff + MIN_ATTEMPT_SECONDS > deadline:
                    raise
                await self._sleep(backoff)
                continue
            self._metrics.count_upstream("success")
            return series

    async def _wait_for_slot(self, deadline: float) -> None:
        """Respect a throttle hold-off and the call budget; raise rather than wait past deadline."""
        now = self._clock()
        if now < self._hold_off_until:
            self._metrics.budget_refusals.labels(reason="hold_off").inc()
            cause = self._hold_off_cause
            raise type(cause)(
                f"{cause.detail}; holding off upstream calls",
                retry_after=self._hold_off_until - now,
            )
        if not self._provider.metered:
            return
        try:
            # Wait for a slot only if an attempt still fits in the deadline after it.
            delay = self._budget.reserve(max_wait=max(0.0, deadline - now - MIN_ATTEMPT_SECONDS))
        except BudgetExhausted:
            self._metrics.budget_refusals.labels(reason="budget").inc()
            raise
        if delay > 0:
            await self._sleep(delay)

    def _note_failure(self, symbol: str, exc: UpstreamError) -> None:
        extra = {"symbol": symbol, "error": type(exc).__name__, "retry_after": exc.retry_after}
        if isinstance(exc, UpstreamThrottled) or exc.retry_after:
            # The quota and the upstream's health are per key, not per symbol: hold off all.
            self._hold_off_until = self._clock() + (exc.retry_after or FAILURE_COOLDOWN_SECONDS)
            self._hold_off_cause = exc
            log.warning("upstream asked us to wait: %s; holding off", exc.detail, extra=extra)
        elif isinstance(exc, UpstreamRejected):
            log.error(
                "upstream rejected the request: %s; check STOCKS_API_KEY and its plan",
                exc.detail,
                extra=extra,
            )
        else:
            log.warning("upstream call failed: %s", exc.detail, extra=extra)


def _unknown_key(symbol: str) -> str:
    return f"unknown:{symbol}"
