"""The deployment's call budget in the shared store: one pace and one rolling day for all.

One Lua script checks both limits and takes the slot in one atomic step, on the store's own clock
(`TIME`), so replicas whose clocks differ still agree and no slot is taken by one limit and then
refused by the other. The day is a sorted set of call times, trimmed to the last 24 hours; the
pace is the time of the next free slot. Both persist with the store (AOF on the deployment's
volume), so restarting any or all replicas changes nothing.

Why not a library: `limits` checks each limit in a script of its own (a refused pace can waste a
daily slot), and pyrate-limiter's Redis bucket checks both in one script but on each pod's clock.
This script is the 25 lines below, tested against a real server.

While the store does not answer, each process spends from a small budget of its own,
`REDIS_FALLBACK_DAILY_BUDGET` calls per rolling day at the configured pace. So in any 24 hours the
deployment makes at most `UPSTREAM_DAILY_BUDGET + REDIS_FALLBACK_DAILY_BUDGET x P` calls, where P
is the number of processes (replicas x workers, each restart a new one) that ran while the store
was unreachable in that time.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable

from stock_ticker.service.budget import Slot, UpstreamBudget
from stock_ticker.service.errors import BudgetExhausted
from stock_ticker.service.shared.link import RedisLink, SharedStoreDown

CALLS_KEY = "stock-ticker:v1:budget:calls"
PACE_KEY = "stock-ticker:v1:budget:next-slot"

#: KEYS: calls (sorted set, member = ticket, score = ms), next slot (ms). ARGV: daily (0: no
#: limit), spacing ms (0: no pace), longest wait ms (-1: only count), ticket.
#: Returns {granted (1), refused by the day (0) or by the pace (-1); wait ms; calls left; when,
#: in microseconds of the store's clock}. The time orders the answers: a process with several
#: reservations in flight on several connections may read them back in another order than the
#: store ran them, and must not show an older count over a newer one. A clock, not a counter
#: kept in the store, so that a store that lost its data (a new volume) is not taken for old.
#: The calls key has no expiry (each call trims it): under `maxmemory-policy volatile-lru` the
#: store may evict cache entries, which all expire, but never the day's count.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local at = tonumber(t[1]) * 1000000 + tonumber(t[2])
local daily, spacing, max_wait = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local day = 86400000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - day)
local used = redis.call('ZCARD', KEYS[1])
if max_wait < 0 then return {1, 0, daily - used, at} end
if daily > 0 and used >= daily then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, tonumber(oldest[2]) + day - now, 0, at}
end
local start = math.max(now, tonumber(redis.call('GET', KEYS[2]) or now))
if start - now > max_wait then return {-1, start - now, daily - used, at} end
if spacing > 0 then
  redis.call('SET', KEYS[2], string.format('%d', start + spacing), 'PX', start + spacing - now)
end
if daily > 0 then
  redis.call('ZADD', KEYS[1], string.format('%d', start), ARGV[4])
  used = used + 1
end
return {1, start - now, daily - used, at}
"""
#: An answer older than the newest one read by more than this is not late (no call lasts that
#: long): the store's clock was set back, and its answers are taken from then on.
CLOCK_SET_BACK_US = 60_000_000


class SharedBudget:
    """`CallBudget` counted in the shared store, with a per-process fallback budget."""

    def __init__(
        self,
        link: RedisLink,
        rate_per_second: float,
        daily: int,
        fallback_daily: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._link = link
        self._spacing_ms = round(1000 / rate_per_second) if rate_per_second > 0 else 0
        self._daily = daily
        self._clock = clock
        self._script = link.client.register_script(_RESERVE)
        #: What this process may spend while the store does not answer (unlimited if the
        #: deployment's budget is).
        self._fallback_daily = min(fallback_daily, daily) if daily else 0
        self._fallback = UpstreamBudget(rate_per_second, self._fallback_daily, clock)
        #: Calls left in the rolling day, as of the newest word this process had from the
        #: store (by the store's clock, in microseconds).
        self._remaining = float(daily) if daily else float("inf")
        self._read_at = 0

    async def reserve(self, max_wait: float) -> Slot:
        if not self._daily and not self._spacing_ms:
            return Slot(self._clock(), 0.0)
        ticket = secrets.token_hex(8)
        try:
            verdict, wait_ms = await self._run(round(max_wait * 1000), ticket)
        except SharedStoreDown:
            return await self._reserve_fallback(max_wait)
        wait = wait_ms / 1000
        if verdict == 0:
            raise BudgetExhausted(
                f"upstream daily budget of {self._daily} calls is spent", retry_after=wait
            )
        if verdict < 0:
            raise BudgetExhausted(
                "upstream calls are paced and no slot is free in time", retry_after=wait
            )
        return Slot(self._clock() + wait, wait, ticket)

    async def refund(self, slot: Slot) -> None:
        if slot.ticket is None:  # a fallback slot
            await self._fallback.refund(slot)
            return
        ticket = slot.ticket
        try:
            if await self._link.run(lambda r: r.zrem(CALLS_KEY, ticket)):
                self._remaining += 1
        except SharedStoreDown:
            pass  # the call stays counted: the budget errs on the side of the quota

    def remaining_today(self) -> float:
        if not self._daily:
            return float("inf")
        return self._remaining if self._link.up else self._fallback.remaining_today()

    async def sync(self) -> None:
        """Read the calls left (at start, for the gauge); a store that is down changes nothing."""
        if self._daily:
            with contextlib.suppress(SharedStoreDown):
                await self._run(-1, "")

    async def _run(self, max_wait_ms: int, ticket: str) -> tuple[int, int]:
        args: list[int | str] = [self._daily, self._spacing_ms, max_wait_ms, ticket]
        verdict, wait_ms, left, at = await self._link.run(
            lambda r: self._script(keys=[CALLS_KEY, PACE_KEY], args=args, client=r)
        )
        if self._daily and (at >= self._read_at or self._read_at - at > CLOCK_SET_BACK_US):
            self._remaining = float(left)
            self._read_at = at
        return int(verdict), int(wait_ms)

    async def _reserve_fallback(self, max_wait: float) -> Slot:
        if self._daily and not self._fallback_daily:
            raise BudgetExhausted(
                "the shared store is unreachable and REDIS_FALLBACK_DAILY_BUDGET is 0",
                retry_after=1.0,
            )
        return await self._fallback.reserve(max_wait)
