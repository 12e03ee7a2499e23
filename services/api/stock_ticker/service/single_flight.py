"""Run one coroutine per key at a time; every concurrent caller shares its outcome."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Hashable
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SingleFlight(Generic[K, V]):
    """Collapses concurrent calls for one key into a single task.

    Unlike aiocache's `cached_stampede`, a failure is handed to every waiter rather than retried
    by each of them, and a waiter that gives up (client disconnect) does not cancel the call the
    others are waiting on: quota spent on an answer is never thrown away.
    """

    def __init__(self) -> None:
        self._tasks: dict[K, asyncio.Task[V]] = {}

    async def run(self, key: K, call: Callable[[], Coroutine[Any, Any, V]]) -> V:
        """Join the call in flight for `key`, or start it, and wait for its outcome."""
        return await asyncio.shield(self.start(key, call))

    def start(self, key: K, call: Callable[[], Coroutine[Any, Any, V]]) -> asyncio.Task[V]:
        """The task in flight for `key`, started now if there is none (for fire-and-forget)."""
        task = self._tasks.get(key)
        if task is None:
            task = asyncio.create_task(call())
            self._tasks[key] = task
            task.add_done_callback(lambda done: self._finished(key, done))
        return task

    def _finished(self, key: K, task: asyncio.Task[V]) -> None:
        del self._tasks[key]
        if not task.cancelled():
            task.exception()  # mark it retrieved: a failure nobody waits for is not an error

    def __contains__(self, key: K) -> bool:
        return key in self._tasks

    def cancel_all(self) -> None:
        """Cancel every call in flight (shutdown past its grace); their waiters see it."""
        for task in self._tasks.values():
            task.cancel()

    async def wait_idle(self, timeout: float | None = None) -> None:
        """Wait for every call in flight (used at shutdown); cancel what is left after `timeout`."""
        tasks = list(self._tasks.values())
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=timeout)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late)
