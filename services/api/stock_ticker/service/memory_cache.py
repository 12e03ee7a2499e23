"""aiocache's `SimpleMemoryCache`, plus a synchronous read for the warm path.

aiocache's `get` runs through four coroutine decorators (an environment lookup, a timeout,
plugin hooks, key building and debug logging): the largest single cost of a warm request when
it was measured (docs/benchmarks.md has the figures). `peek` reads the memory
backend's own dict instead. For the cache this class builds (no namespace, the null serializer,
no plugins) it returns exactly what `get` would; writes, TTL expiry and deletes stay aiocache's.
"""

from __future__ import annotations

from typing import Any

from aiocache import SimpleMemoryCache


class MemoryCache(SimpleMemoryCache):  # type: ignore[misc]  # aiocache ships no type hints
    def __init__(self) -> None:
        super().__init__(timeout=None)

    def peek(self, key: str) -> Any:  # what was stored, as aiocache's `get` returns it
        """The value stored under `key`, or None; an expired key is already gone."""
        return self._cache.get(key)
