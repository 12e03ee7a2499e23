"""The service the issue 9 scenarios run: a 3 s TTL, the failure-path settings at their defaults.

REFRESH_POLICY=fixed makes the TTL hold whatever the market calendar (older code ignores it); the
default pace stays, and there is no daily budget, so that one case's calls cannot refuse the
next's.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from bench.http_client import http_get
from bench.processes import Fleet, ServerProcess

TTL_S = 3.0  # API_REFRESH_FREQUENCY_MINUTES=0.05
ENV = {
    "REFRESH_POLICY": "fixed",
    "API_REFRESH_FREQUENCY_MINUTES": "0.05",
    "UPSTREAM_RATE_PER_SECOND": "1",  # the default pace
    "UPSTREAM_DAILY_BUDGET": "0",
}
# The service's own defaults, which the bench leaves alone; the targets are built on them.
STALE_WAIT_S = 1.0  # STALE_WAIT_SECONDS
UPSTREAM_DEADLINE_S = 20.0  # UPSTREAM_DEADLINE_SECONDS: bounds every wait below


def start_service(fleet: Fleet, upstream_url: str, symbols: Sequence[str]) -> ServerProcess:
    service = fleet.service(upstream_url, ENV, symbols)
    service.start()
    return service


def prime_symbol(service: ServerProcess, symbol: str) -> float:
    """Fetch `symbol` once (upstream answering); return when (time.monotonic) it was fetched."""
    answer = http_get(f"{service.url}/ndays?symbol={symbol}", timeout=10)
    fetched = time.monotonic()
    if answer.status != 200 or answer.headers.get("x-cache") != "MISS":
        raise RuntimeError(
            f"priming {symbol}: {answer.status} {answer.headers.get('x-cache')}: "
            f"{answer.body[:200]!r}"
        )
    return fetched


def wait_out_ttl(fetched: float) -> None:
    """Until the copy fetched at `fetched` has expired (and half a second more)."""
    time.sleep(max(0.0, fetched + TTL_S + 0.5 - time.monotonic()))
