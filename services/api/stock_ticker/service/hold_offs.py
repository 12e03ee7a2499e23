"""When to leave the upstream alone, in process memory (the in-process `HoldOffs`)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from stock_ticker.service.ports import Failure, Hold

#: First rest after a failed refresh; each consecutive failure doubles it, up to the cap.
REST_BASE_SECONDS = 10.0
REST_CAP_SECONDS = 300.0
#: Symbols whose failure count is remembered; the oldest is forgotten first (`*` can admit any).
MAX_REMEMBERED = 10_000
#: A refresh this soon after the symbol's last failure is a probe (fetcher.py): long enough for
#: clients asking through an outage to come back after the longest rest.
PROBE_WINDOW_SECONDS = 2 * REST_CAP_SECONDS
#: The name under which the upstream itself rests, like a symbol, while it is failing for all
#: (no ticker can be spelt so).
UPSTREAM = "*"


def rest_seconds(failures: int, at_least: float) -> float:
    """How long a symbol rests after its `failures`-th consecutive failed refresh."""
    return max(at_least, min(REST_CAP_SECONDS, REST_BASE_SECONDS * 2.0 ** min(failures - 1, 32)))


@dataclass(frozen=True, slots=True)
class _Rest:
    hold: Hold
    failures: int
    failed_at: float


class MemoryHoldOffs:
    """The key-wide hold-off and the per-symbol rests of one process."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._held: Hold | None = None
        self._rests: OrderedDict[str, _Rest] = OrderedDict()

    async def held(self) -> Hold | None:
        return self._in_force(self._held)

    async def hold(self, seconds: float, cause: Failure) -> None:
        until = self._clock() + seconds
        if self._held is None or until > self._held.until or self._in_force(self._held) is None:
            self._held = Hold(until, cause)

    async def resting(self, symbol: str) -> Hold | None:
        rest = self._rests.get(symbol)
        return None if rest is None else self._in_force(rest.hold)

    async def failed(self, symbol: str, cause: Failure, at_least: float) -> float:
        previous = self._rests.pop(symbol, None)
        failures = 1 if previous is None else previous.failures + 1
        seconds = rest_seconds(failures, at_least)
        now = self._clock()
        self._rests[symbol] = _Rest(Hold(now + seconds, cause), failures, now)
        if len(self._rests) > MAX_REMEMBERED:
            self._rests.popitem(last=False)
        return seconds

    async def failing(self, *symbols: str) -> bool:
        since = self._clock() - PROBE_WINDOW_SECONDS
        rests = (self._rests.get(symbol) for symbol in symbols)
        return any(rest is not None and rest.failed_at > since for rest in rests)

    async def succeeded(self, *symbols: str) -> None:
        for symbol in symbols:
            self._rests.pop(symbol, None)

    def _in_force(self, hold: Hold | None) -> Hold | None:
        return hold if hold is not None and self._clock() < hold.until else None
