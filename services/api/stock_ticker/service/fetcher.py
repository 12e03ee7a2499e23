"""One refresh's upstream attempts: paced, within the budget and the deadline, retried only
when trying again can help.

A free key has 25 calls a day, so a refresh makes at most `UPSTREAM_MAX_ATTEMPTS` attempts
(default 2), retries only transient faults (timeouts, 5xx/429, resets), and gives back the
daily share of an attempt that never reached the upstream (name resolution, refused
connection), which is still paced. A refresh minutes after the symbol's or the upstream's
last failure (`PROBE_WINDOW_SECONDS`) is a probe of an upstream known to be failing: it makes
one attempt, since a retry a moment later rides out a blip, not an outage, and an outage would
otherwise spend two calls per rest.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable

from stock_ticker.config import Settings
from stock_ticker.domain import PriceSeries
from stock_ticker.observability.metrics import Metrics
from stock_ticker.service.budget import Slot
from stock_ticker.service.errors import BudgetExhausted, restated
from stock_ticker.service.hold_offs import UPSTREAM
from stock_ticker.service.ports import CallBudget, Failure, HoldOffs
from stock_ticker.upstream import PriceProvider, UpstreamError, UpstreamRejected, UpstreamThrottled
from stock_ticker.upstream.parsing import THROTTLE_RETRY_AFTER_SECONDS

log = logging.getLogger(__name__)

#: Backoff between attempts: full jitter over base * 2**attempt, capped.
RETRY_BASE_SECONDS = 0.25
RETRY_CAP_SECONDS = 4.0
#: An attempt that would get less time than this is not made: it could only turn a 503 into a 504.
MIN_ATTEMPT_SECONDS = 0.5


class RefreshFailed(Exception):
    """A refresh that ended without a series. `error` is what clients are told; `attempted`
    says whether any upstream attempt was made (only then did the symbol fail, and rest)."""

    def __init__(self, error: Failure, *, attempted: bool) -> None:
        super().__init__(error.detail)
        self.error = error
        self.attempted = attempted


class UpstreamFetcher:
    """Fetches a symbol's series from the provider, spending the budget as little as it can."""

    def __init__(
        self,
        provider: PriceProvider,
        settings: Settings,
        metrics: Metrics,
        budget: CallBudget,
        hold_offs: HoldOffs,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._provider = provider
        self._settings = settings
        self._metrics = metrics
        self._budget = budget
        self._hold_offs = hold_offs
        self._clock = clock
        self._sleep = sleep

    async def fetch(self, symbol: str) -> PriceSeries:
        """The series, or `RefreshFailed` with what to tell clients and whether a call was made."""
        settings = self._settings
        deadline = self._clock() + settings.upstream_deadline_seconds
        probing = await self._hold_offs.failing(symbol, UPSTREAM)
        attempts = 1 if probing else settings.upstream_max_attempts
        attempt = 0
        failed: UpstreamError | None = None  # the last attempt's error, if any
        while True:
            attempt += 1
            try:
                slot = await self._wait_for_slot(deadline)
            except (UpstreamError, BudgetExhausted) as refused:  # held off or over budget
                # After a failed attempt that attempt's error is the story, not the refusal.
                raise RefreshFailed(failed or refused, attempted=failed is not None) from None
            remaining = deadline - self._clock()
            call = self._provider.fetch_daily_series(
                symbol, timeout=min(settings.upstream_timeout_seconds, remaining)
            )
            try:
                series = await self._metrics.time_upstream(call)
            except UpstreamError as exc:
                self._metrics.count_upstream(type(exc).__name__)
                if exc.retry_after is not None:  # what we honour, and announce, is capped
                    exc.retry_after = min(exc.retry_after, settings.max_hold_off_seconds)
                if not exc.reached and slot is not None:
                    await self._budget.refund(slot)
                await self._note_failure(symbol, exc)
                jitter = random.uniform(0, min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2**attempt))  # noqa: S311 - jitter, not security
                backoff = max(jitter, exc.retry_after or 0.0)  # never sooner than it asked
                if (
                    not exc.transient
                    or attempt >= attempts
                    or self._clock() + backoff + MIN_ATTEMPT_SECONDS > deadline
                ):
                    raise RefreshFailed(exc, attempted=True) from None
                failed = exc
                await self._sleep(backoff)
                continue
            self._metrics.count_upstream("success")
            return series

    async def check_hold_off(self) -> None:
        """Raise the hold-off's cause, restated with the time left, while one is in force."""
        held = await self._hold_offs.held()
        if held is not None:
            self._metrics.count_refusal("hold_off")
            raise restated(
                held.cause,
                f"{held.cause.detail}; holding off upstream calls",
                held.until - self._clock(),
            )

    async def _wait_for_slot(self, deadline: float) -> Slot | None:
        """Respect a hold-off and the call budget; raise rather than wait past the deadline."""
        await self.check_hold_off()
        if not self._provider.metered:
            return None
        now = self._clock()
        try:
            # Wait for a slot only if an attempt still fits in the deadline after it.
            slot = await self._budget.reserve(max(0.0, deadline - now - MIN_ATTEMPT_SECONDS))
        except BudgetExhausted:
            self._metrics.count_refusal("budget")
            raise
        if slot.wait > 0:
            await self._sleep(slot.wait)
            try:  # a throttle seen by another refresh while we waited stops this call too
                await self.check_hold_off()
            except UpstreamError:
                await self._budget.refund(slot)
                raise
        return slot

    async def _note_failure(self, symbol: str, exc: UpstreamError) -> None:
        extra = {"symbol": symbol, "error": type(exc).__name__, "retry_after": exc.retry_after}
        if isinstance(exc, UpstreamThrottled) or exc.retry_after:
            # The quota and the upstream's health are per key, not per symbol: hold off all.
            await self._hold_offs.hold(exc.retry_after or THROTTLE_RETRY_AFTER_SECONDS, exc)
            log.warning("upstream asked us to wait: %s; holding off", exc.detail, extra=extra)
        elif isinstance(exc, UpstreamRejected):
            log.error(
                "upstream rejected the request: %s; check STOCKS_API_KEY and its plan",
                exc.detail,
                extra=extra,
            )
        else:
            log.warning("upstream call failed: %s", exc.detail, extra=extra)
