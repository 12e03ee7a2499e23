"""Group 3, shutdown under load: the real process gets SIGTERM while a load generator runs.

Nothing that started before the signal fails, requests made during the drain (on kept-alive and on
new connections) are served, readiness flips first, a request still waiting on the upstream when
the listener closes is finished, and the process exits 0 well inside the Deployment's grace period.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import live_env
from tests.support.builders import series_body
from tests.support.fake_upstream import FakeAlphaVantage, Reply
from tests.support.fixtures import ServiceFactory

Upstream = tuple[FakeAlphaVantage, str]

DRAIN_SECONDS = 2.0
GRACE_PERIOD_SECONDS = 30.0  # terminationGracePeriodSeconds in infra/k8s/deployment.yaml
#: Requests started this close to the listener closing may race it (the connection sits in the
#: accept queue when the socket closes); earlier ones must all be served.
LISTENER_RACE_SECONDS = 0.25
WORKERS_PER_KIND = 8

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Sample:
    kind: str  # "keep-alive" or "new-connection"
    started: float  # wall clock, comparable with the service's log times
    status: int | None
    error: str | None


async def load(
    session: aiohttp.ClientSession,
    url: str,
    kind: str,
    samples: list[Sample],
    stop: asyncio.Event,
) -> None:
    while not stop.is_set():
        started = time.time()
        try:
            async with session.get(url) as response:
                await response.read()
                samples.append(Sample(kind, started, response.status, None))
        except aiohttp.ClientError as exc:
            samples.append(Sample(kind, started, None, type(exc).__name__))
            await asyncio.sleep(0.02)  # the listener is gone: do not spin


def log_entries(path: Path) -> list[dict[str, object]]:
    text = path.read_text()
    complete = text[: text.rfind("\n") + 1]  # a line still being written has no newline yet
    return [json.loads(line) for line in complete.splitlines()]


def logged_at(entry: dict[str, object]) -> float:
    return dt.datetime.fromisoformat(str(entry["time"])).timestamp()


async def wait_for_log(path: Path, message: str, timeout: float = 15.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        for entry in log_entries(path):
            if entry["message"] == message:
                return entry
        assert time.monotonic() < deadline, f"{message!r} never logged"
        await asyncio.sleep(0.02)  # polling the log file


async def test_sigterm_under_load_drops_nothing_and_exits_zero(
    start_service: ServiceFactory, fake_upstream: Upstream
) -> None:
    fake, host = fake_upstream
    gate = asyncio.Event()
    fake.script("SLOW", Reply(series_body("SLOW", ["42"]), gate=gate))
    service = await start_service(live_env(host, SHUTDOWN_DRAIN_SECONDS=str(DRAIN_SECONDS)))
    ndays = f"{service.url}/ndays"
    timeout = aiohttp.ClientTimeout(total=20)
    samples: list[Sample] = []
    readiness: list[tuple[float, int]] = []
    stop = asyncio.Event()
    async with (
        aiohttp.ClientSession(timeout=timeout) as kept_alive,
        aiohttp.ClientSession(
            timeout=timeout, connector=aiohttp.TCPConnector(force_close=True)
        ) as fresh,
    ):
        async with kept_alive.get(ndays) as warm:  # a hot cache: load is served from memory
            assert warm.status == 200
        async with fresh.get(f"{service.url}/readyz") as ready:
            assert ready.status == 200

        async def slow_request() -> tuple[int, dict[str, object]]:
            async with fresh.get(f"{ndays}?symbol=SLOW") as response:
                return response.status, await response.json()

        fake.arrived.clear()  # the warm-up above already called the upstream
        slow = asyncio.ensure_future(slow_request())
        await fake.arrived.wait()  # the slow request now waits on the upstream
        workers = [
            asyncio.ensure_future(load(session, ndays, kind, samples, stop))
            for session, kind in ((kept_alive, "keep-alive"), (fresh, "new-connection"))
            for _ in range(WORKERS_PER_KIND)
        ]
        while len(samples) < 200:
            await asyncio.sleep(0.01)  # until the load is up

        signalled = time.time()
        service.signal(signal.SIGTERM)
        while True:  # readiness fails first...
            async with fresh.get(f"{service.url}/readyz") as ready:
                readiness.append((time.time(), ready.status))
                if ready.status == 503:
                    break
        stopping = logged_at(
            await wait_for_log(service.log_path, "stopping: finishing requests in flight")
        )
        gate.set()  # the request in flight when the listener closed now gets its answer
        exit_status = await service.wait_exit(timeout=GRACE_PERIOD_SECONDS)
        exited = time.time()
        stop.set()
        await asyncio.gather(*workers)
        slow_status, slow_body = await slow

    assert exit_status == 0
    assert exited - signalled < GRACE_PERIOD_SECONDS
    assert slow_status == 200
    assert slow_body["symbol"] == "SLOW"

    flipped = readiness[-1][0]
    assert flipped < stopping
    assert stopping - signalled >= DRAIN_SECONDS - 0.01  # served for the whole drain

    before = [s for s in samples if s.started < signalled]
    assert len(before) >= 200
    assert [s for s in before if s.status != 200] == []

    during = [s for s in samples if signalled <= s.started < stopping - LISTENER_RACE_SECONDS]
    assert [s for s in during if s.status != 200] == []
    after_flip = [s for s in during if s.started > flipped]
    assert sum(s.kind == "new-connection" for s in after_flip) >= 10
    assert sum(s.kind == "keep-alive" for s in after_flip) >= 10

    # Whatever got an answer at all got a good one: no 5xx at any point of the shutdown.
    assert {s.status for s in samples if s.status is not None} == {200}
    failed = [s for s in samples if s.error is not None]
    assert all(s.started >= stopping - LISTENER_RACE_SECONDS for s in failed)

    entries = log_entries(service.log_path)
    assert not [e for e in entries if e["level"] in {"ERROR", "CRITICAL"}]
    lifecycle = [e["message"] for e in entries if e["logger"] == "stock_ticker.server"]
    assert lifecycle[-3:] == [
        "SIGTERM: draining",
        "stopping: finishing requests in flight",
        "stopped",
    ]
