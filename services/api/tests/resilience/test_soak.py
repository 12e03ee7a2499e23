"""Group 6, soak: wrk keeps a few hundred connections busy against the real process, a hot cache
with a 3-second TTL, while the upstream flips between good answers and faults every couple of
seconds. With a stale copy always there, no client may see a 5xx; and the process's resident
memory must not grow once warmed up. The figures go to test-artifacts/soak.json.

SOAK_SECONDS sets the length of the measured run (default 60). wrk is a Debian package: outside
CI a machine without it skips this test; under CI=true its absence is a failure.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import live_env
from tests.support import wrk as support_wrk
from tests.support.fake_upstream import FakeAlphaVantage, Reply
from tests.support.fixtures import ServiceFactory
from tests.support.processes import ServerProcess
from tests.support.programs import require

pytestmark = pytest.mark.e2e

Upstream = tuple[FakeAlphaVantage, str]

SOAK_SECONDS = float(os.environ.get("SOAK_SECONDS", "60"))
WARMUP_SECONDS = max(5.0, SOAK_SECONDS / 6)
CONNECTIONS = 256
THREADS = 2
FLIP_SECONDS = 2.0
RSS_TOLERANCE = 0.10
ARTIFACT = Path(__file__).resolve().parents[4] / "test-artifacts" / "soak.json"


def resident_kib(service: ServerProcess) -> int:
    return round(service.rss_mib() * 1024)


def logged_errors(log: Path) -> list[str]:
    """ERROR lines of the service's log, read line by line; the log (an access line per request,
    hundreds of megabytes) is emptied afterwards so test runs do not pile it up on disk."""
    with log.open(errors="replace") as lines:
        errors = [line for line in lines if '"level":"ERROR"' in line or "Traceback" in line]
    log.write_bytes(b"")
    return errors


async def run_wrk(wrk: str, url: str, seconds: float) -> dict[str, Any]:
    """wrk with the answers counted by class; its figures in the units the artifact uses."""
    figures = await asyncio.to_thread(
        support_wrk.run_wrk,
        wrk,
        url,
        threads=THREADS,
        connections=CONNECTIONS,
        seconds=max(1, round(seconds)),
        timeout_s=10,
        count_answers=True,
    )
    latency_us = figures["latency_us"]
    return {
        **figures.pop("answers"),
        "requests": figures["requests"],
        "duration_s": figures["duration_us"] / 1e6,
        "errors": figures["errors"],
        "latency_ms": {key: latency_us[key] / 1000 for key in ("p50", "p99", "max")},
    }


async def flip_upstream(fake: FakeAlphaVantage) -> None:
    """Good answers and faults by turns, a different fault each time, until cancelled."""
    good = Reply()  # the bundled MSFT document
    faults = itertools.cycle(
        [Reply(status=500), Reply(reset=True), Reply(b"<html>down</html>"), Reply(stall=True)]
    )
    while True:
        fake.default = next(faults)
        await asyncio.sleep(FLIP_SECONDS)  # driving the fake upstream
        fake.default = good
        await asyncio.sleep(FLIP_SECONDS)


async def test_soak_with_a_flapping_upstream(
    start_service: ServiceFactory, fake_upstream: Upstream
) -> None:
    wrk = require("wrk")
    fake, host = fake_upstream
    service = await start_service(
        live_env(
            host,
            LOG_LEVEL="INFO",  # production's level: every request writes its access line
            API_REFRESH_FREQUENCY_MINUTES="0.05",  # a 3-second TTL
            UPSTREAM_TIMEOUT_SECONDS="0.5",
            UPSTREAM_DEADLINE_SECONDS="1",
            SHUTDOWN_DRAIN_SECONDS="0",
        )
    )
    url = f"{service.url}/ndays"

    warm = await run_wrk(wrk, url, WARMUP_SECONDS)  # fills the cache, then steady state
    assert warm["non_2xx"] == 0
    rss_warm = resident_kib(service)
    calls_before = fake.total_calls
    flipper = asyncio.ensure_future(flip_upstream(fake))
    try:
        soak = await run_wrk(wrk, url, SOAK_SECONDS)
    finally:
        flipper.cancel()
    rss_end = resident_kib(service)
    service.signal(signal.SIGTERM)
    exit_status = await service.wait_exit(timeout=30)
    errors = logged_errors(service.log_path)

    figures = {
        "soak_seconds": SOAK_SECONDS,
        "connections": CONNECTIONS,
        "requests": soak["requests"],
        "requests_per_second": round(soak["requests"] / soak["duration_s"], 1),
        "non_2xx": soak["non_2xx"],
        "status_5xx": soak["status_5xx"],
        "answers_by_cache": {k: soak[k] for k in ("hit", "miss", "stale")},
        "socket_errors": soak["errors"],
        "latency_ms": soak["latency_ms"],
        "upstream_calls": fake.total_calls - calls_before,
        "rss_kib_after_warmup": rss_warm,
        "rss_kib_at_end": rss_end,
        "rss_growth_percent": round(100 * (rss_end - rss_warm) / rss_warm, 2),
    }
    ARTIFACT.parent.mkdir(exist_ok=True)
    ARTIFACT.write_text(json.dumps(figures, indent=2) + "\n")
    print("soak figures:", json.dumps(figures))

    assert soak["status_5xx"] == 0
    assert soak["non_2xx"] == 0
    assert soak["errors"] == {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0}
    assert soak["requests"] == soak["hit"] + soak["miss"] + soak["stale"]
    # The faults really bit (stale answers) and, in a run that outlasts a failure's cooldown,
    # the upstream's recoveries were fetched (fresh answers).
    assert soak["stale"] > 0
    if SOAK_SECONDS >= 30:
        assert soak["miss"] > 0
    assert rss_end <= rss_warm * (1 + RSS_TOLERANCE), figures
    assert errors == []
    assert exit_status == 0
