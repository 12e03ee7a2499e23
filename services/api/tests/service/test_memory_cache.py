"""`MemoryCache.peek` answers exactly as aiocache's own `get` does."""

from __future__ import annotations

from stock_ticker.service.memory_cache import MemoryCache


async def test_peek_agrees_with_get_through_writes_and_deletes() -> None:
    cache = MemoryCache()
    entry = object()

    async def agree(key: str) -> object:
        value = cache.peek(key)
        assert value is await cache.get(key)
        return value

    assert await agree("MSFT") is None
    await cache.set("MSFT", entry, ttl=60)
    await cache.set("unknown:ZZZZ", True, ttl=60)
    assert await agree("MSFT") is entry
    assert await agree("unknown:ZZZZ") is True
    await cache.delete("MSFT")
    assert await agree("MSFT") is None
    await cache.clear()
    assert await agree("unknown:ZZZZ") is None
    await cache.close()
