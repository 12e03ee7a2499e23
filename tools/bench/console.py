"""Progress lines: a run takes minutes, so it says what it is doing as it goes."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def timed(what: str, step: Callable[[], T]) -> T:
    started = time.perf_counter()
    result = step()
    say(f"{what} done in {time.perf_counter() - started:.0f} s")
    return result
