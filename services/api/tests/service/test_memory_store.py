"""`MemorySeriesStore`: the operator's symbols are never evicted; the rest goes LRU first."""

from __future__ import annotations

import asyncio

from stock_ticker.service.memory_store import MemorySeriesStore


async def test_keys_that_expired_are_not_counted_against_the_bound() -> None:
    store = MemorySeriesStore(max_keys=2, protected=frozenset({"MSFT"}))
    await store.set("MSFT", "kept", ttl=60)
    await store.set("A", "a", ttl=0.01)
    await store.set("B", "b", ttl=60)
    expired = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().call_later(0.02, expired.set_result, None)
    await expired  # aiocache drops A on its own timer
    assert store.peek("A") is None
    await store.set("C", "c", ttl=60)  # A's leftover place is freed, so B stays
    assert [store.peek(k) for k in ("MSFT", "B", "C")] == ["kept", "b", "c"]
    await store.set("D", "d", ttl=60)
    assert store.peek("B") is None  # now the bound evicts the least recently used
    assert store.peek("MSFT") == "kept"
    await store.close()
