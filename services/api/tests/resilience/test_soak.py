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
import shutil
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ServiceFactory
from tests.e2e.test_process import live_env
from tests.fakes import FakeAlphaVantage, Reply

pytestmark = pytest.mark.e2e

Upstream = tuple[FakeAlphaVantage, str]

SOAK_SECONDS = float(os.environ.get("SOAK_SECONDS", "60"))
WARMUP_SECONDS = max(5.0, SOAK_SECONDS / 6)
CONNECTIONS = 256
THREADS = 2
FLIP_SECONDS = 2.0
RSS_TOLERANCE = 0.10
ARTIFACT = Path(__file__).resolve().parents[4] / "test-artifacts" / "soak.json"

#: Counts every answer by class in each wrk thread, and sums the threads when the run is done.
WRK_SCRIPT = """
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  non_2xx = 0; status_5xx = 0; stale = 0; miss = 0; hit = 0
end
function response(status, headers, body)
  if status < 200 or status > 299 then non_2xx = non_2xx + 1 end
  if status >= 500 then status_5xx = status_5xx + 1 end
  local cache = headers["X-Cache"] or headers["x-cache"]
  if cache == "STALE" then stale = stale + 1
  elseif cache == "MISS" then miss = miss + 1
  elseif cache == "HIT" then hit = hit + 1 end
end
function done(summary, latency, requests)
  local t = {non_2xx = 0, status_5xx = 0, stale = 0, miss = 0, hit = 0}
  for _, thread in ipairs(threads) do
    for key, _ in pairs(t) do t[key] = t[key] + thread:get(key) end
  end
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests": %d, "duration_s": %.3f, "non_2xx": %d, "status_5xx": %d, '
      .. '"stale": %d, "miss": %d, "hit": %d, "errors": {"connect": %d, "read": %d, '
      .. '"write": %d, "status": %d, "timeout": %d}, "latency_ms": {"p50": %.3f, '
      .. '"p99": %.3f, "max": %.3f}}\\n',
    summary.requests, summary.duration / 1e6, t.non_2xx, t.status_5xx, t.stale, t.miss,
    t.hit, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
"""


def wrk_or_skip() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        if os.environ.get("CI") == "true":
            pytest.fail("wrk is not installed (CI must install the Debian package wrk)")
        pytest.skip("wrk is not installed (apt-get install wrk)")
    return wrk


def resident_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def logged_errors(log: Path) -> list[str]:
    """ERROR lines of the service's log, read line by line; the log (an access line per request,
    hundreds of megabytes) is emptied afterwards so test runs do not pile it up on disk."""
    with log.open(errors="replace") as lines:
        errors = [line for line in lines if '"level":"ERROR"' in line or "Traceback" in line]
    log.write_bytes(b"")
    return errors


async def run_wrk(wrk: str, script: Path, url: str, seconds: float) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        wrk,
        f"-t{THREADS}",
        f"-c{CONNECTIONS}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    text = output.decode()
    assert process.returncode == 0, text
    lines = [line for line in text.splitlines() if line.startswith("WRK ")]
    assert lines, text
    result: dict[str, Any] = json.loads(lines[-1].removeprefix("WRK "))
    return result


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
    start_service: ServiceFactory, fake_upstream: Upstream, tmp_path: Path
) -> None:
    wrk = wrk_or_skip()
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
    script = tmp_path / "count.lua"
    script.write_text(WRK_SCRIPT)
    url = f"{service.url}/ndays"

    warm = await run_wrk(wrk, script, url, WARMUP_SECONDS)  # fills the cache, then steady state
    assert warm["non_2xx"] == 0
    rss_warm = resident_kib(service.proc.pid)
    calls_before = fake.total_calls
    flipper = asyncio.ensure_future(flip_upstream(fake))
    try:
        soak = await run_wrk(wrk, script, url, SOAK_SECONDS)
    finally:
        flipper.cancel()
    rss_end = resident_kib(service.proc.pid)
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
