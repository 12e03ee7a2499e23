"""The connection to the shared store (Redis or Valkey), and whether it is usable right now.

Every command is bounded by `REDIS_TIMEOUT_SECONDS` (0.1 s) and never retried by the client: a store
that is down, hanging (a stopped process still accepts connections) or flapping must cost a
request at most one short wait, after which the callers fall back to what the process holds.
After a failure the store is treated as down for `PROBE_SECONDS`, so a dead store costs no
wait at all; the next command after that is the probe, and redis-py reconnects by itself. While
it is down a background PING probes it as well, so it is seen back (and shared again) without
waiting for a request that needs it. Each change of state is one log line, not one per request,
and shows in `stock_api_shared_store_up`.

A process opens at most `MAX_CONNECTIONS` connections; a command that finds them all busy waits
for one, inside its time bound. Without the cap a burst of requests would open a connection
each (redis-py's default pool has no limit) and the store's accept queue would turn the burst
into timeouts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from yarl import URL

from stock_ticker.observability.metrics import SharedStoreMetrics

log = logging.getLogger(__name__)

#: The whole of one call, a fresh connection's connect and handshake included, in units of
#: the socket timeout (`REDIS_TIMEOUT_SECONDS`, 0.1 s by default).
CALL_TIMEOUTS = 2.5
#: After a failure, how long the store is treated as down before the next command probes it.
PROBE_SECONDS = 1.0
#: Connections per process: far more than the few commands a process has in flight at once.
MAX_CONNECTIONS = 32


class SharedStoreDown(Exception):
    """The shared store did not answer in time (or is treated as down): use the fallback."""


def connect(url: str, password: str, timeout: float) -> Redis:
    """A client for `url` (a password there, or `password`), with socket timeouts of
    `timeout` seconds and no retries of its own."""
    extra: dict[str, Any] = {"password": password} if password else {}
    pool = BlockingConnectionPool.from_url(
        url,
        **extra,
        max_connections=MAX_CONNECTIONS,
        timeout=None,  # waiting for a free connection is bounded by the call's own limit
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        decode_responses=False,
    )
    return Redis.from_pool(pool)


def describe(url: str) -> str:
    """`url` without its credentials, for logs."""
    return str(URL(url).with_user(None))


class RedisLink:
    """Runs commands on the shared store and tracks whether it is up."""

    def __init__(
        self,
        client: Redis,
        metrics: SharedStoreMetrics,
        *,
        name: str,
        timeout: float,
        clock: Callable[[], float] = time.monotonic,
        probe_in_background: bool = True,
    ) -> None:
        self.client = client
        self._metrics = metrics
        self._name = name
        self._clock = clock
        self._call_timeout = CALL_TIMEOUTS * timeout
        self.up = True
        self._probe_at = 0.0
        self._probe_in_background = probe_in_background
        self._prober: asyncio.Task[None] | None = None
        metrics.set_up(True)

    async def run(self, command: Callable[[Redis], Any]) -> Any:
        """What `command` (a redis-py call) answers, or `SharedStoreDown` (at once while the
        store is treated as down). Typed `Any`: redis-py types its async results as unions."""
        if not self.up and self._clock() < self._probe_at:
            raise SharedStoreDown("the shared store is down")
        try:
            async with asyncio.timeout(self._call_timeout):
                result = await command(self.client)
        except (RedisError, OSError, TimeoutError) as exc:
            self._metrics.count_error()
            self._probe_at = self._clock() + PROBE_SECONDS
            if self.up:
                self.up = False
                self._metrics.set_up(False)
                log.warning(
                    "shared store unreachable; serving from process memory and the fallback "
                    "budget until it answers",
                    extra={"store": self._name, "error": repr(exc)},
                )
                if self._probe_in_background and self._prober is None:
                    self._prober = asyncio.create_task(self._probe())
            raise SharedStoreDown(repr(exc)) from exc
        if not self.up:
            self.up = True
            self._metrics.set_up(True)
            log.info("shared store reachable again", extra={"store": self._name})
        return result

    async def _probe(self) -> None:
        """PING every `PROBE_SECONDS` until the store answers."""
        try:
            while not self.up:
                await asyncio.sleep(PROBE_SECONDS)
                with contextlib.suppress(SharedStoreDown):
                    await self.run(lambda r: r.ping())
        finally:
            self._prober = None

    async def close(self) -> None:
        if self._prober is not None:
            self._prober.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._prober
        await self.client.aclose()
