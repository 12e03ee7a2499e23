"""The in-process `SeriesStore`: aiocache's memory cache with a bound that keeps what matters.

The operator's symbols (`SYMBOL` and those named in `ALLOWED_SYMBOLS`) are never evicted: their
number is fixed by the configuration, and a burst of `*`-admitted symbols must not push out the
copy that answers the next outage. Every other key is bounded by `CACHE_MAX_SYMBOLS` and goes
least recently used first, where a use is a request's read, not a refresh.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from stock_ticker.service.memory_cache import MemoryCache


class MemorySeriesStore:
    def __init__(self, max_keys: int, protected: frozenset[str]) -> None:
        self._cache = MemoryCache()
        self._max_keys = max_keys
        self._protected = protected
        #: Unprotected keys, least recently used first.
        self._lru: OrderedDict[str, None] = OrderedDict()

    def peek(self, key: str) -> Any:
        value = self._cache.peek(key)
        if value is not None and key in self._lru:
            self._lru.move_to_end(key)
        return value

    async def set(self, key: str, value: Any, ttl: float) -> None:
        await self._cache.set(key, value, ttl=ttl)
        if key in self._protected:
            return
        self._lru[key] = None
        self._lru.move_to_end(key)
        if len(self._lru) > self._max_keys:
            for gone in [
                k for k in self._lru if self._cache.peek(k) is None
            ]:  # expired by aiocache
                del self._lru[gone]
        while len(self._lru) > self._max_keys:
            oldest, _ = self._lru.popitem(last=False)
            await self._cache.delete(oldest)

    async def pull(self, *keys: str) -> bool:
        return False  # process memory is the only tier

    async def close(self) -> None:
        await self._cache.close()
