"""The use case: a symbol's daily series, from cache when fresh, from the upstream when not.

This is the cache policy, and only that; the mechanisms it drives sit behind the interfaces of
`service/ports.py` (store, flight, budget, hold-offs) and the attempts of one refresh are the
fetcher's (`service/fetcher.py`).

- One entry per symbol holds the parsed series; any `ndays` is a slice of it. An entry is fresh
  for as long as `service/freshness.py` says (the market calendar, or the fixed TTL), then kept
  as a fallback until it is `MAX_STALE_SECONDS` old.
- Concurrent misses for a symbol share one refresh (single flight). A request with a usable
  stale copy waits for it at most `STALE_WAIT_SECONDS`, then gets the copy while the refresh
  goes on; a request without one waits for the refresh, which ends within its deadline.
- Only a successful parse is stored; an unknown symbol is remembered briefly (negative cache),
  with the symbols the source said it has, if it named any (the sample data does).
- After a failed refresh the symbol rests (10 s, doubling with each consecutive failure up to
  5 min, never shorter than the upstream asked): requests are answered at once, from the stale
  copy or with the same problem and `Retry-After`, and nobody calls the upstream. A transient
  fault (5xx, timeout, no connection) is the upstream's: it rests too, holding off every call,
  so an outage costs one probe per rest for all symbols together.
- At most `MAX_WAITING_REQUESTS` requests wait on refreshes; the next is answered at once. A
  request whose client went away stops waiting; the refresh it joined goes on for the others.
- With `REDIS_URL` the mechanisms are the deployment's (`service/shared/`), and a missing or
  stale entry is first pulled from the shared tier: another replica may have refreshed it.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeGuard

from stock_ticker.config import Settings
from stock_ticker.domain import PriceSeries
from stock_ticker.observability.metrics import Metrics
from stock_ticker.service.budget import UpstreamBudget
from stock_ticker.service.errors import BudgetExhausted, TooManyWaiting, restated
from stock_ticker.service.fetcher import RefreshFailed, UpstreamFetcher
from stock_ticker.service.freshness import fresh_for
from stock_ticker.service.hold_offs import UPSTREAM, MemoryHoldOffs
from stock_ticker.service.memory_store import MemorySeriesStore
from stock_ticker.service.ports import (
    CachedSeries,
    CallBudget,
    Failure,
    Flight,
    Hold,
    HoldOffs,
    SeriesStore,
)
from stock_ticker.service.shared import shared_state
from stock_ticker.service.shared.codec import Clocks
from stock_ticker.service.single_flight import SingleFlight
from stock_ticker.upstream import PriceProvider, UnknownSymbol, UpstreamError, UpstreamUnavailable

log = logging.getLogger(__name__)

#: At shutdown, how long refreshes may still run after they were cancelled.
CLOSE_GRACE_SECONDS = 1.0
#: Retry-After for a request turned away because too many are waiting, or at shutdown.
BUSY_RETRY_AFTER_SECONDS = 1.0


class CacheState(enum.StrEnum):
    HIT = "HIT"
    MISS = "MISS"
    STALE = "STALE"


@dataclass(slots=True)
class Quote:
    """A series and how it was obtained, for the web layer to render.

    Not frozen: one is built per warm request, and a frozen dataclass's `__init__` costs
    several times as much. Nothing keeps a `Quote` after rendering it.
    """

    series: PriceSeries
    source: str
    state: CacheState
    max_age: int
    age: int
    stale_reason: str | None = None
    #: When the data was fetched, a Unix time in whole seconds (Last-Modified).
    modified: int = 0


class Quotes:
    """Serves `PriceSeries` by symbol with the cache policy described in the module docstring."""

    def __init__(
        self,
        provider: PriceProvider,
        settings: Settings,
        metrics: Metrics,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        store: SeriesStore | None = None,
        flight: Flight | None = None,
        budget: CallBudget | None = None,
        hold_offs: HoldOffs | None = None,
    ) -> None:
        self._provider = provider
        self._settings = settings
        self._metrics = metrics
        self._clock = clock
        self._wall = wall  # the calendar and Last-Modified need the time of day
        memory = MemorySeriesStore(
            settings.cache_max_symbols, frozenset({settings.symbol, *settings.allowed_symbols})
        )
        #: With REDIS_URL, the mechanisms the whole deployment shares (service/shared/).
        shared = (
            shared_state(settings, metrics, memory, Clocks(clock, wall))
            if settings.redis_url
            else None
        )
        self._shared = shared
        self._store = store or (shared.store if shared else memory)
        self._flight: Flight = flight or (
            shared.flight if shared else SingleFlight[str, CachedSeries]()
        )
        self._budget = budget or (
            shared.budget
            if shared
            else UpstreamBudget(
                settings.upstream_rate_per_second, settings.upstream_daily_budget, clock
            )
        )
        self._hold_offs = hold_offs or (shared.hold_offs if shared else MemoryHoldOffs(clock))
        self._fetcher = UpstreamFetcher(
            provider, settings, metrics, self._budget, self._hold_offs, clock=clock, sleep=sleep
        )
        #: Requests waiting on a refresh right now.
        self.waiting = 0
        self._checks = SingleFlight[str, _Checked]()  # see _checked
        self._ahead_after: dict[str, float] = {}  # refresh ahead waits out a failure's rest
        self._closing: asyncio.TimerHandle | None = None
        self._refusing = False  # set at the end of shutdown's grace
        #: RFC 5861 windows of this cache, for Cache-Control: a refresh takes at most the
        #: upstream deadline; a failing upstream is answered from the stale copy this long.
        self.stale_while_revalidate = math.ceil(settings.upstream_deadline_seconds)
        self.stale_if_error = int(settings.max_stale_seconds)
        metrics.bind_waiting(lambda: self.waiting)
        if provider.metered:
            metrics.bind_budget(self._budget.remaining_today)

    @property
    def source(self) -> str:
        return self._provider.name

    async def get(self, symbol: str) -> Quote:
        """The series for `symbol`; raises `UpstreamError`, `BudgetExhausted` or
        `TooManyWaiting` when there is no copy to fall back on."""
        entry: CachedSeries | None = self._store.peek(symbol)
        now = self._clock()
        if entry is not None and now < entry.fresh_until:
            self._metrics.count_answer("hit")
            if entry.fresh_until - now <= self._settings.refresh_ahead_seconds:
                self._refresh_in_background(symbol)
            max_age = round(entry.fresh_until - now)
            return Quote(
                entry.series, self.source, CacheState.HIT, max_age, 0, None, entry.modified
            )
        return await self._refreshed(symbol, entry if self._usable(entry, now) else None)

    async def start(self) -> None:
        """Check the shared store once, if there is one; nothing else is sent at start-up."""
        if self._shared is not None:
            await self._shared.start()

    def cancel_refreshes_after(self, grace: float) -> None:
        """Shutdown with `grace` seconds for what is in flight: a little before it ends (a
        second, or half of a short grace) refreshes are cancelled, no new one starts, and the
        requests waiting on them are answered (stale copy, or 503) before the grace is over."""
        seconds = max(0.0, grace - min(CLOSE_GRACE_SECONDS, grace / 2))
        self._closing = asyncio.get_running_loop().call_later(seconds, self._stop_refreshing)

    def _stop_refreshing(self) -> None:
        self._refusing = True
        self._flight.cancel_all()

    async def close(self) -> None:
        """Let what is left of the refreshes finish briefly, then drop the cache."""
        if self._closing is not None:
            self._closing.cancel()
        self._refusing = True  # nothing new starts while the last ones finish
        await self._flight.wait_idle(timeout=CLOSE_GRACE_SECONDS)
        await self._store.close()

    async def _refreshed(self, symbol: str, copy: CachedSeries | None) -> Quote:
        """The slow path: the entry is missing or past its freshness."""
        checked = await self._checked(symbol)
        if checked.pulled:  # another replica refreshed
            entry: CachedSeries | None = self._store.peek(symbol)
            now = self._clock()
            if entry is not None and now < entry.fresh_until:
                return await self.get(symbol)  # a hit now
            if self._usable(entry, now):
                copy = entry
        available: tuple[str, ...] | None = self._store.peek(_unknown_key(symbol))
        if available is not None:  # remembered with the symbols the source said it has
            if copy is not None:
                return self._stale(copy, "upstream no longer knows this symbol")
            self._metrics.count_answer("hit")
            raise UnknownSymbol(
                "upstream does not know this symbol (remembered)", available=available
            )
        if checked.rest is not None:
            rest = checked.rest
            if copy is not None:
                return self._stale(copy, f"{rest.cause.detail} (refresh failed recently)")
            left = rest.until - self._clock()
            raise restated(rest.cause, f"{rest.cause.detail} (refresh failed recently)", left)
        if checked.held is not None:  # a hold-off is not a failure of this symbol
            if copy is not None:
                return self._stale(copy, checked.held.detail)
            raise checked.held
        if self._refusing:  # shutting down: no refresh would finish in time
            stopping = UpstreamUnavailable(
                "the service is shutting down", retry_after=BUSY_RETRY_AFTER_SECONDS
            )
            if copy is not None:
                return self._stale(copy, stopping.detail)
            raise stopping
        timeout = None if copy is None else self._settings.stale_wait_seconds
        if timeout != 0 and self.waiting >= self._settings.max_waiting_requests:
            self._metrics.count_overflow()
            if copy is not None:
                return self._stale(copy, "too many requests are waiting on refreshes")
            raise TooManyWaiting(
                "too many requests are waiting on upstream refreshes",
                retry_after=BUSY_RETRY_AFTER_SECONDS,
            )
        self._metrics.count_answer("miss")
        task = self._flight.start(symbol, lambda: self._refresh(symbol))
        if timeout != 0:
            self.waiting += 1
            try:  # a cancelled request (client gone) stops here; the shared task goes on
                await asyncio.wait((task,), timeout=timeout)
            finally:
                self.waiting -= 1
        if copy is not None and not task.done():
            return self._stale(copy, "upstream is slow; refresh continues in the background")
        failure = _failure(task)
        if failure is None:
            fresh = task.result()
            max_age = round(fresh.fresh_until - self._clock())
            return Quote(
                fresh.series, self.source, CacheState.MISS, max_age, 0, None, fresh.modified
            )
        if copy is not None:
            return self._stale(copy, failure.detail)
        raise failure

    async def _checked(self, symbol: str) -> _Checked:
        """What stands before a refresh of `symbol`, asked of the shared tier once per symbol.

        With REDIS_URL these are round trips (the entry, the rest, the hold-off), so concurrent
        misses share one set of them, and a miss that finds a refresh in flight here asks
        nothing (the refresh looked already): a stampede of 500 clients costs a handful of
        commands, not 2,500 on 500 connections. In process memory they cost nothing and are
        asked by each request.
        """
        if self._shared is None:
            return await self._check(symbol)
        if symbol in self._flight:
            return _NOTHING_IN_THE_WAY
        return await self._checks.run(symbol, lambda: self._check(symbol))

    async def _check(self, symbol: str) -> _Checked:
        pulled = await self._store.pull(symbol, _unknown_key(symbol))
        rest = await self._hold_offs.resting(symbol)
        try:
            await self._fetcher.check_hold_off()
        except (UpstreamError, BudgetExhausted) as held:
            return _Checked(pulled, rest, held)
        return _Checked(pulled, rest, None)

    def _usable(self, entry: CachedSeries | None, now: float) -> TypeGuard[CachedSeries]:
        """Whether `entry` may still be served stale: up to MAX_STALE_SECONDS past its
        freshness, however long that was (days over a weekend under the market policy)."""
        return entry is not None and now - entry.fresh_until <= self._settings.max_stale_seconds

    def _stale(self, entry: CachedSeries, reason: str) -> Quote:
        self._metrics.count_answer("stale")
        age = int(self._clock() - entry.fetched_at)
        return Quote(entry.series, self.source, CacheState.STALE, 0, age, reason, entry.modified)

    def _refresh_in_background(self, symbol: str) -> None:
        def report(task: asyncio.Task[CachedSeries]) -> None:
            exc = None if task.cancelled() else task.exception()
            if exc is None:
                self._ahead_after.pop(symbol, None)
                return
            # Not again until the rest it started (or found) is over: one attempt, one line.
            retry_after = getattr(exc, "retry_after", None) or 0.0
            self._ahead_after[symbol] = self._clock() + retry_after
            log.warning("refresh ahead failed", extra={"symbol": symbol, "error": str(exc)})

        if symbol in self._flight or self._clock() < self._ahead_after.get(symbol, 0.0):
            return  # one refresh, and one report, per expiry; none while resting
        task = self._flight.start(symbol, lambda: self._refresh(symbol, ahead=True))
        task.add_done_callback(report)

    async def _refresh(self, symbol: str, *, ahead: bool = False) -> CachedSeries:
        settings = self._settings
        if ahead:
            rest = await self._hold_offs.resting(symbol)
            if rest is not None:  # refresh ahead waits out a rest like everyone else
                raise restated(rest.cause, rest.cause.detail, rest.until - self._clock())
        try:
            series = await self._fetcher.fetch(symbol)
        except RefreshFailed as failed:
            error = failed.error
            if isinstance(error, UnknownSymbol):
                if settings.negative_cache_seconds > 0:
                    await self._store.set(
                        _unknown_key(symbol), error.available, settings.negative_cache_seconds
                    )
            elif failed.attempted:  # a hold-off or budget refusal is no failure of the symbol
                asked_to_wait = error.retry_after is not None  # and is held off already
                seconds = await self._hold_offs.failed(symbol, error, error.retry_after or 0.0)
                error.retry_after = max(error.retry_after or 0.0, seconds)  # told from the start
                log.info(
                    "symbol rests after a failed refresh",
                    extra={"symbol": symbol, "seconds": seconds},
                )
                if isinstance(error, UpstreamError) and error.transient and not asked_to_wait:
                    await self._upstream_failing(error)
            raise error from None
        now, wall = self._clock(), self._wall()
        fresh = fresh_for(series, wall, settings)
        entry = CachedSeries(series, now, now + fresh, int(wall))
        await self._store.set(symbol, entry, fresh + settings.max_stale_seconds)
        await self._hold_offs.succeeded(symbol, UPSTREAM)  # a success ends an outage too
        return entry

    async def _upstream_failing(self, error: Failure) -> None:
        """A transient fault (5xx, timeout, no connection) is the upstream's, not the symbol's:
        every call holds off as the upstream itself rests (10 s, doubling with each failed
        probe to 5 min, over on the first success). An outage then costs one call per rest for
        the whole deployment, however many symbols clients ask for."""
        seconds = await self._hold_offs.failed(UPSTREAM, error, 0.0)
        await self._hold_offs.hold(seconds, error)
        log.warning("upstream failing; holding off every call", extra={"seconds": seconds})


@dataclass(frozen=True, slots=True)
class _Checked:
    """Before a refresh: whether the shared tier had a newer entry, the symbol's rest, and the
    hold-off in force (its error, restated with the time left)."""

    pulled: bool
    rest: Hold | None
    held: UpstreamError | BudgetExhausted | None


_NOTHING_IN_THE_WAY = _Checked(False, None, None)


def _failure(task: asyncio.Task[CachedSeries]) -> Failure | None:
    """What a finished refresh raised; cancelled (shutdown) reads as the upstream unavailable."""
    if task.cancelled():
        return UpstreamUnavailable(
            "the service is shutting down", retry_after=BUSY_RETRY_AFTER_SECONDS
        )
    exc = task.exception()
    if exc is None or isinstance(exc, UpstreamError | BudgetExhausted):
        return exc
    raise exc  # a defect, not an upstream fault: the web layer logs it and answers 500


def _unknown_key(symbol: str) -> str:
    return f"unknown:{symbol}"
