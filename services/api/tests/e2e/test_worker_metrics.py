"""WEB_CONCURRENCY: scrapes reach random workers, yet every counter is the sum over all of them
and never goes back, under load."""

from __future__ import annotations

import asyncio
import collections
import itertools
import time
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from stock_ticker.observability.aggregate import END
from stock_ticker.workers import METRICS_DIR, WORKER_FLAG, metrics_socket
from tests.conftest import API_KEY
from tests.support.fake_upstream import FakeAlphaVantage
from tests.support.fixtures import ServiceFactory
from tests.support.processes import ServerProcess

SCRAPES = 20
LOADERS = 8
#: Bounds each loader, should the scrapes stall: the test stops by itself either way.
MAX_REQUESTS_PER_LOADER = 5000
#: What the load asks for, and the (route, status) each should be counted under.
REQUESTS = {
    "/ndays": ("/ndays", "200"),
    "/ndays?ndays=3": ("/ndays", "200"),
    "/ndays?ndays=0": ("/ndays", "400"),
    "/no/such/path": ("unmatched", "404"),
}
Key = tuple[str, tuple[tuple[str, str], ...]]


def parse(text: str) -> tuple[dict[Key, float], set[str]]:
    """Every sample, and the names of the samples that belong to counters and histograms."""
    samples: dict[Key, float] = {}
    monotonic: set[str] = set()
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[s.name, tuple(sorted(s.labels.items()))] = s.value
            if family.type in ("counter", "histogram"):
                monotonic.add(s.name)
    return samples, monotonic


def answered(samples: dict[Key, float], route: str, status: str) -> float:
    key = ("http_requests_total", (("method", "GET"), ("route", route), ("status", status)))
    return samples.get(key, 0.0)


def children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def environment(pid: int) -> dict[str, str]:
    pairs = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(p.decode().split("=", 1) for p in pairs if b"=" in p)


async def own_metrics(path: Path) -> dict[Key, float]:
    """One worker's own exposition, read from its socket as its siblings read it."""
    reader, writer = await asyncio.open_unix_connection(path)
    data = await reader.read()
    writer.close()
    assert data.endswith(END)
    return parse(data.decode())[0]


async def start_workers(start_service: ServiceFactory) -> tuple[ServerProcess, list[int]]:
    """A supervisor with two workers, both listening; and the workers' pids."""
    service = await start_service(
        {
            "WEB_CONCURRENCY": "2",
            "ENABLE_METRICS": "true",
            "SHUTDOWN_DRAIN_SECONDS": "0",
            "LOG_LEVEL": "INFO",
        }
    )
    deadline = time.monotonic() + 15
    while service.output().count('"message":"listening"') < 2:
        assert time.monotonic() < deadline, service.output()
        await asyncio.sleep(0.05)  # polling for the second listener, not hiding a race
    workers = children(service.proc.pid)
    assert len(workers) == 2
    return service, workers


async def test_twenty_scrapes_under_load_are_sums_that_never_go_back(
    start_service: ServiceFactory,
) -> None:
    service, workers = await start_workers(start_service)

    seen: collections.Counter[tuple[str, str]] = collections.Counter()
    done = asyncio.Event()

    async def load(session: aiohttp.ClientSession) -> None:
        paths = list(REQUESTS)
        for i in range(MAX_REQUESTS_PER_LOADER):
            if done.is_set():
                return
            path = paths[i % len(paths)]
            async with session.get(f"{service.url}{path}") as response:
                await response.read()
                assert str(response.status) == REQUESTS[path][1], path
            seen[REQUESTS[path]] += 1

    scrapes: list[dict[Key, float]] = []
    monotonic: set[str] = set()
    keep_alive = aiohttp.TCPConnector(limit=LOADERS)  # LOADERS connections, spread by the kernel
    fresh = aiohttp.TCPConnector(force_close=True)  # a new connection, so a random worker, each
    async with (
        aiohttp.ClientSession(connector=keep_alive) as load_session,
        aiohttp.ClientSession(connector=fresh) as scrape_session,
    ):
        loaders = [asyncio.create_task(load(load_session)) for _ in range(LOADERS)]
        try:
            while sum(seen.values()) < 100:  # the load is running before the first scrape
                await asyncio.sleep(0.01)  # yielding to the loaders
            for _ in range(SCRAPES):
                async with scrape_session.get(f"{service.url}/metrics") as response:
                    assert response.status == 200
                    samples, names = parse(await response.text())
                scrapes.append(samples)
                monotonic |= names
            during = sum(seen.values())
        finally:
            done.set()
            await asyncio.gather(*loaders)
        async with scrape_session.get(f"{service.url}/metrics") as response:
            final, _ = parse(await response.text())

    for i, (before, after) in enumerate(itertools.pairwise(scrapes)):
        for key, value in before.items():
            if key[0] in monotonic:
                assert key in after, f"scrape {i + 1}: {key} disappeared"
                assert after[key] >= value, f"scrape {i + 1}: {key} went {value} -> {after[key]}"
    # Each scrape is counted once, by whichever worker answered it: the sum goes up by one.
    assert [answered(s, "/metrics", "200") for s in scrapes] == list(range(SCRAPES))
    ndays = [answered(s, "/ndays", "200") for s in scrapes]
    assert ndays[-1] > ndays[0], "the load went on during the scrapes"
    assert during > 100

    # Once the load has stopped, the sum is exactly what the clients were answered.
    for (route, status), count in seen.items():
        assert answered(final, route, status) == count, (route, status)
    assert answered(final, "/metrics", "200") == SCRAPES

    # And it is a sum: each worker answered part of the load and of the scrapes.
    own = []
    for pid in workers:
        env = environment(pid)
        own.append(await own_metrics(metrics_socket(env[METRICS_DIR], int(env[WORKER_FLAG]))))
    ndays_parts = [answered(o, "/ndays", "200") for o in own]
    assert all(ndays_parts), ndays_parts
    assert sum(ndays_parts) == answered(final, "/ndays", "200")
    scrape_parts = [answered(o, "/metrics", "200") for o in own]
    assert all(scrape_parts), scrape_parts
    assert sum(scrape_parts) == SCRAPES + 1  # the final scrape is counted once it is answered


async def test_a_fresh_set_of_workers_exposes_every_labelled_series_at_zero(
    start_service: ServiceFactory,
) -> None:
    service, _ = await start_workers(start_service)
    async with aiohttp.ClientSession() as session, session.get(f"{service.url}/metrics") as r:
        samples, _ = parse(await r.text())
    outcomes = {
        dict(labels)["outcome"]: v
        for (name, labels), v in samples.items()
        if name == "stock_api_upstream_requests_total"
    }
    assert len(outcomes) == 7
    assert set(outcomes.values()) == {0.0}
    reasons = {
        dict(labels)["reason"]: v
        for (name, labels), v in samples.items()
        if name == "stock_api_upstream_budget_refusals_total"
    }
    assert reasons == {"budget": 0.0, "hold_off": 0.0}
    (python_info,) = [v for (name, _), v in samples.items() if name == "python_info"]
    assert python_info == 1, "one interpreter kind, however many workers"


async def test_each_worker_keeps_its_share_of_the_budget_and_the_scrape_shows_their_sum(
    start_service: ServiceFactory, fake_upstream: tuple[FakeAlphaVantage, str]
) -> None:
    _, host = fake_upstream
    service = await start_service(
        {
            "WEB_CONCURRENCY": "2",
            "ENABLE_METRICS": "true",
            "STOCKS_API_HOST": host,
            "STOCKS_API_KEY": API_KEY,
            "UPSTREAM_DAILY_BUDGET": "25",
        }
    )
    deadline = time.monotonic() + 15
    while len(children(service.proc.pid)) < 2 or service.output().count('"listening"') < 2:
        assert time.monotonic() < deadline, service.output()
        await asyncio.sleep(0.05)  # polling for the second listener, not hiding a race
    budget = ("stock_api_upstream_budget_remaining_calls", ())
    for pid in children(service.proc.pid):
        env = environment(pid)
        own = await own_metrics(metrics_socket(env[METRICS_DIR], int(env[WORKER_FLAG])))
        assert own[budget] == 12  # 25 // 2: the pair never spends more than configured
    async with aiohttp.ClientSession() as session, session.get(f"{service.url}/metrics") as r:
        assert parse(await r.text())[0][budget] == 24
