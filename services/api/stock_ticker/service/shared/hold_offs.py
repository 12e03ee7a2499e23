"""The deployment's hold-off and rests in the shared store, so a throttle one replica sees stops
every replica, and a failing symbol rests everywhere.

Each is a key whose expiry is the time left (`PX`), read back with `PTTL`: durations, not time
points, so no replica's clock matters. The count of a symbol's consecutive failures (which
doubles its rest) is a counter beside it, deleted by a success. Everything is also written to the
process's own `MemoryHoldOffs`, which answers while the store does not.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from redis.asyncio import Redis

from stock_ticker.service.hold_offs import PROBE_WINDOW_SECONDS, MemoryHoldOffs, rest_seconds
from stock_ticker.service.ports import Failure, Hold
from stock_ticker.service.shared.codec import decode_failure, encode_failure
from stock_ticker.service.shared.link import RedisLink, SharedStoreDown

HOLD_KEY = "stock-ticker:v1:hold"
REST_PREFIX = "stock-ticker:v1:rest:"
FAILURES_PREFIX = "stock-ticker:v1:failures:"
#: A failure count is forgotten a day after the last failure, as if the symbol had recovered.
FAILURES_TTL_SECONDS = 86400

#: Set the hold-off unless one that lasts longer is already in force.
_HOLD_LONGEST = """
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then
  return redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return 0
"""


class SharedHoldOffs:
    """`HoldOffs` for the deployment, falling back to this process's own."""

    def __init__(self, link: RedisLink, clock: Callable[[], float] = time.monotonic) -> None:
        self._link = link
        self._clock = clock
        self._local = MemoryHoldOffs(clock)
        self._hold_longest = link.client.register_script(_HOLD_LONGEST)

    async def held(self) -> Hold | None:
        try:
            return await self._read(HOLD_KEY)
        except SharedStoreDown:
            return await self._local.held()

    async def hold(self, seconds: float, cause: Failure) -> None:
        await self._local.hold(seconds, cause)
        args: list[bytes | int] = [encode_failure(cause), _ms(seconds)]
        with contextlib.suppress(SharedStoreDown):  # this process holds off all the same
            await self._link.run(lambda r: self._hold_longest(keys=[HOLD_KEY], args=args, client=r))

    async def resting(self, symbol: str) -> Hold | None:
        try:
            return await self._read(REST_PREFIX + symbol)
        except SharedStoreDown:
            return await self._local.resting(symbol)

    async def failed(self, symbol: str, cause: Failure, at_least: float) -> float:
        local = await self._local.failed(symbol, cause, at_least)
        counter = FAILURES_PREFIX + symbol

        async def count(r: Redis) -> int:
            async with r.pipeline(transaction=True) as pipe:
                pipe.incr(counter)
                pipe.expire(counter, FAILURES_TTL_SECONDS)
                failures, _ = await pipe.execute()
            return int(failures)

        try:
            seconds = rest_seconds(await self._link.run(count), at_least)
            payload = encode_failure(cause)
            await self._link.run(lambda r: r.set(REST_PREFIX + symbol, payload, px=_ms(seconds)))
        except SharedStoreDown:
            return local
        return seconds

    async def failing(self, *symbols: str) -> bool:
        # A count's expiry is set a day after each failure: what is left of it tells when.
        async def ages(r: Redis) -> list[int]:
            async with r.pipeline(transaction=False) as pipe:
                for symbol in symbols:
                    pipe.pttl(FAILURES_PREFIX + symbol)
                return [int(left_ms) for left_ms in await pipe.execute()]

        try:
            left = await self._link.run(ages)
        except SharedStoreDown:
            return await self._local.failing(*symbols)
        recent_ms = (FAILURES_TTL_SECONDS - PROBE_WINDOW_SECONDS) * 1000
        return any(left_ms > recent_ms for left_ms in left)

    async def succeeded(self, *symbols: str) -> None:
        await self._local.succeeded(*symbols)
        keys = [prefix + symbol for symbol in symbols for prefix in (REST_PREFIX, FAILURES_PREFIX)]
        # If the store is down, the rest lapses by itself; the count is forgotten in a day.
        with contextlib.suppress(SharedStoreDown):
            await self._link.run(lambda r: r.delete(*keys))

    async def _read(self, key: str) -> Hold | None:
        async def read(r: Redis) -> tuple[bytes | None, int]:
            async with r.pipeline(transaction=False) as pipe:
                pipe.get(key)
                pipe.pttl(key)
                payload, left_ms = await pipe.execute()
            return payload, int(left_ms)

        payload, left_ms = await self._link.run(read)
        if payload is None or left_ms <= 0:
            return None
        return Hold(self._clock() + left_ms / 1000, decode_failure(payload))


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))
