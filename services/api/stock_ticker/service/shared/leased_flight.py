"""Cluster single flight: at most one refresh per symbol at a time in the whole deployment.

Within a process, concurrent callers share one task (`SingleFlight`). That task first takes the
symbol's lease in the shared store (`SET NX PX` with a random token): the holder refreshes,
writes the shared entry, then releases the lease with a compare-and-delete, so a lease that
lapsed and went to someone else is never deleted. Having taken the lease, the holder reads the
entry once more first: a replica that refreshed and let go between this process's look and its
take has already done the work. A process that finds the lease taken calls
nobody: it polls the lease (jittered, 10 to 25 ms) until the holder is done, then reads the
holder's entry. A holder that fails leaves its failure in the lease for a moment, so every
waiter answers with it instead of trying again; a holder that dies leaves a lease that lapses
after the upstream deadline plus `LEASE_MARGIN_SECONDS`, and the next waiter takes it.

Our own lease rather than redis-py's `Lock`: handing the holder's failure to the waiters needs
a compare-and-set of the lease's value, which `Lock` does not offer. aiocache's `RedLock` is no
lease at all: its waiters wait on an event in their own process only.

If the shared store does not answer, the process refreshes on its own (its fallback budget
bounds what that costs, `service/shared/budget.py`).
"""

from __future__ import annotations

import asyncio
import random
import secrets
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from redis.asyncio import Redis

from stock_ticker.service.errors import BudgetExhausted
from stock_ticker.service.ports import CachedSeries, SeriesStore
from stock_ticker.service.shared.codec import decode_failure, encode_failure
from stock_ticker.service.shared.link import RedisLink, SharedStoreDown
from stock_ticker.service.shared.tiered_store import CLOCK_SLACK_SECONDS
from stock_ticker.service.single_flight import SingleFlight
from stock_ticker.upstream import UpstreamError

LEASE_PREFIX = "stock-ticker:v1:lease:"
#: A lease outlives the longest refresh (the upstream deadline) by this much.
LEASE_MARGIN_SECONDS = 2.0
#: How long a failed holder's failure stays in the lease for its waiters to read.
FAILED_MARK_SECONDS = 2.0
#: A waiting process reads the lease about 40 times a second at most: one GET per process, not
#: per request, and a waiter learns the holder is done within 25 ms (the stampede's tail).
POLL_FIRST_SECONDS = 0.01
POLL_MAX_SECONDS = 0.025
#: A lease holding a failure starts with this byte; tokens are hex.
FAILED = b"!"

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_MARK_FAILED = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return 0
"""


class LeasedFlight:
    """`Flight` for the deployment: a process's single flight, behind a lease per symbol."""

    def __init__(self, link: RedisLink, store: SeriesStore, lease_seconds: float) -> None:
        self._local = SingleFlight[str, CachedSeries]()
        self._link = link
        self._store = store
        self._lease_ms = round(lease_seconds * 1000)
        self._release = link.client.register_script(_RELEASE)
        self._mark_failed = link.client.register_script(_MARK_FAILED)

    def start(
        self, key: str, call: Callable[[], Coroutine[Any, Any, CachedSeries]]
    ) -> asyncio.Task[CachedSeries]:
        return self._local.start(key, lambda: self._leased(key, call))

    def __contains__(self, key: str) -> bool:
        return key in self._local

    def cancel_all(self) -> None:
        self._local.cancel_all()

    async def wait_idle(self, timeout: float | None = None) -> None:
        await self._local.wait_idle(timeout)

    async def _leased(
        self, key: str, call: Callable[[], Coroutine[Any, Any, CachedSeries]]
    ) -> CachedSeries:
        """Take the lease and refresh, or wait for the holder's entry (or failure)."""
        lease = LEASE_PREFIX + key
        held = self._store.peek(key)
        known = held.fetched_at if isinstance(held, CachedSeries) else float("-inf")
        while True:
            token = secrets.token_hex(16)
            try:
                taken = await self._take(lease, token)
            except SharedStoreDown:
                return await call()
            if taken:
                # Another replica may have refreshed and let go between our look and our take.
                try:
                    entry = await self._newer_than(key, known)
                except BaseException:  # cancelled at shutdown, say: nobody waits for a lapse
                    await self._let_go(lease, token)
                    raise
                if entry is not None:
                    await self._let_go(lease, token)
                    return entry
                return await self._refresh(lease, token, call)
            try:
                await self._wait_while_held(lease)
            except SharedStoreDown:
                return await call()
            entry = await self._newer_than(key, known)
            if entry is not None:
                return entry
            # The lease lapsed with no new entry: its holder died. Take it ourselves.

    async def _newer_than(self, key: str, known: float) -> CachedSeries | None:
        """The shared entry of `key` if one was fetched after `known`."""
        await self._store.pull(key)
        entry = self._store.peek(key)
        if isinstance(entry, CachedSeries) and entry.fetched_at > known + CLOCK_SLACK_SECONDS:
            return entry
        return None

    async def _take(self, lease: str, token: str) -> bool:
        return bool(await self._link.run(lambda r: r.set(lease, token, nx=True, px=self._lease_ms)))

    async def _wait_while_held(self, lease: str) -> None:
        """Return once nobody holds `lease`; raise the holder's failure if it left one."""
        delay = POLL_FIRST_SECONDS
        while True:
            await asyncio.sleep(delay * random.uniform(0.5, 1.5))  # noqa: S311 - jitter
            delay = min(delay * 2, POLL_MAX_SECONDS)
            holder: bytes | None = await self._link.run(lambda r: r.get(lease))
            if holder is None:
                return
            if holder.startswith(FAILED):
                raise decode_failure(holder[len(FAILED) :])

    async def _refresh(
        self, lease: str, token: str, call: Callable[[], Coroutine[Any, Any, CachedSeries]]
    ) -> CachedSeries:
        """Refresh as the lease holder; release the lease, or leave the failure in it."""
        failed = False
        try:
            return await call()
        except (UpstreamError, BudgetExhausted) as failure:
            mark = FAILED + encode_failure(failure)
            ms = round(FAILED_MARK_SECONDS * 1000)
            failed = await self._quietly(
                lambda r: self._mark_failed(keys=[lease], args=[token, mark, ms], client=r)
            )
            raise
        finally:
            if not failed:
                await self._let_go(lease, token)

    async def _let_go(self, lease: str, token: str) -> None:
        """Release `lease` if it is still ours (compare-and-delete)."""
        await self._quietly(lambda r: self._release(keys=[lease], args=[token], client=r))

    async def _quietly(self, command: Callable[[Redis], Awaitable[Any]]) -> bool:
        """Run a lease script; if the store is down the lease lapses by itself instead."""
        try:
            return bool(await self._link.run(command))
        except SharedStoreDown:
            return False
