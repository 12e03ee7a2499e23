"""The two-tier `SeriesStore`: process memory first, then the shared store (aiocache's RedisCache).

A warm hit reads process memory only (`peek`, no round trip). A process whose first tier is cold
or stale pulls the shared entries once (`pull`, one MGET) before it considers the upstream, so a
series one replica fetched serves every replica. Writes go to both tiers; the shared write is
best effort (a store that is down loses nothing that process memory does not still hold).
"""

from __future__ import annotations

import contextlib
from typing import Any

from aiocache import RedisCache
from aiocache.serializers import BaseSerializer

from stock_ticker.service.memory_store import MemorySeriesStore
from stock_ticker.service.ports import CachedSeries
from stock_ticker.service.shared.codec import Clocks, Entry, decode_entry, encode_entry
from stock_ticker.service.shared.link import RedisLink, SharedStoreDown

#: Prefix of every entry's key in the shared store, with the version of the entry format
#: (aiocache adds a colon: `stock-ticker:v1:entry:MSFT`, `stock-ticker:v1:entry:unknown:MSFT`).
NAMESPACE = "stock-ticker:v1:entry"
#: Converting a time to wall clock and back moves it by a few microseconds: not "newer".
CLOCK_SLACK_SECONDS = 0.001


class EntrySerializer(BaseSerializer):  # type: ignore[misc]  # aiocache ships no type hints
    """aiocache serializer for `(entry, expires)` pairs, as `codec.py` writes them."""

    DEFAULT_ENCODING = None  # bytes in and out

    def __init__(self, clocks: Clocks) -> None:
        super().__init__()
        self._clocks = clocks

    def dumps(self, value: tuple[Entry, float]) -> bytes:
        return encode_entry(*value, self._clocks)

    def loads(self, value: bytes | None) -> tuple[Entry, float] | None:
        if value is None:
            return None
        try:
            return decode_entry(value, self._clocks)
        except ValueError:  # not ours (another version, or written by hand): as if absent
            return None


class TieredSeriesStore:
    """`SeriesStore` over a `MemorySeriesStore` and the shared store."""

    def __init__(self, first: MemorySeriesStore, link: RedisLink, clocks: Clocks) -> None:
        self._first = first
        self._link = link
        self._clocks = clocks
        self._shared = RedisCache(
            serializer=EntrySerializer(clocks), namespace=NAMESPACE, timeout=None
        )
        # The link's client: its timeouts, no retries, TLS and credentials from REDIS_URL.
        self._shared.client = link.client

    def peek(self, key: str) -> Any:
        return self._first.peek(key)

    async def set(self, key: str, value: Any, ttl: float) -> None:
        await self._first.set(key, value, ttl)
        expires = self._clocks.service() + ttl
        with contextlib.suppress(SharedStoreDown):
            await self._link.run(
                lambda _: self._shared.set(key, (value, expires), ttl=float(ttl))  # PSETEX
            )

    async def pull(self, *keys: str) -> bool:
        try:
            found = await self._link.run(lambda _: self._shared.multi_get(list(keys)))
        except SharedStoreDown:
            return False
        pulled = False
        now = self._clocks.service()
        for key, item in zip(keys, found, strict=True):
            if item is None:
                continue
            value, expires = item
            if expires > now and self._newer(key, value):
                await self._first.set(key, value, expires - now)
                pulled = True
        return pulled

    def _newer(self, key: str, value: Entry) -> bool:
        held = self._first.peek(key)
        if held is None:
            return True
        if isinstance(value, CachedSeries) and isinstance(held, CachedSeries):
            return value.fetched_at > held.fetched_at + CLOCK_SLACK_SECONDS
        return False  # the same unknown symbol, already remembered

    async def close(self) -> None:
        """Drop process memory and close the connection (the store is the last to use it)."""
        await self._first.close()
        await self._link.close()
