"""Issue 9, point 4, through the real process: requests whose clients gave up stop waiting (the
shared refresh goes on for whoever still wants it), and at most `MAX_WAITING_REQUESTS` wait on
refreshes; beyond it a request is answered at once (stale copy, else 503 `refresh-queue-full`
with `Retry-After`) and counted. `/healthz` answers throughout.

The upstream hangs in every scenario (a stalled fake, a 60 s timeout), so a request that is
answered was answered without the upstream; the service's state is read from `/metrics`. The
fake is the switchable one: its listener gives a stalled reply no grace at teardown.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest

from tests.conftest import live_env
from tests.support.builders import series_body
from tests.support.fake_upstream import Reply, SwitchableUpstream
from tests.support.fixtures import ServiceFactory
from tests.support.processes import ServerProcess
from tests.support.scrape import WAIT_SECONDS, Scrape, scrape, wait_for_log, wait_for_metrics

pytestmark = pytest.mark.e2e

WAITING = "stock_api_refresh_waiting_requests"
OVERFLOW = "stock_api_refresh_waiting_overflow_total"
QUEUE_FULL = "urn:stock-ticker:problem:refresh-queue-full"
ABANDONING_CLIENTS = 50
BOUND = 5
PATIENT_CLIENTS = BOUND + 3
#: The upstream never answers within a test: nothing ends because a timeout ran out.
HANGING = {
    "UPSTREAM_TIMEOUT_SECONDS": "60",
    "UPSTREAM_DEADLINE_SECONDS": "60",
    "SHUTDOWN_TIMEOUT_SECONDS": "2",  # the teardown's SIGINT then ends the hung refresh soon
}


def waiting(n: int) -> Callable[[Scrape], bool]:
    return lambda s: s.value(WAITING) == n


@asynccontextmanager
async def probing_health(session: aiohttp.ClientSession, url: str) -> AsyncIterator[list[int]]:
    """`/healthz` asked back to back for as long as the block runs; yields the statuses."""
    statuses: list[int] = []
    stop = asyncio.Event()

    async def probe() -> None:
        while not stop.is_set():
            async with session.get(f"{url}/healthz") as response:
                await response.read()
                statuses.append(response.status)

    task = asyncio.ensure_future(probe())
    try:
        yield statuses
    finally:
        stop.set()
        await task


async def raw_request(service: ServerProcess, path: str) -> asyncio.StreamWriter:
    """Open a connection and send a GET; the caller abandons it by closing the writer."""
    _reader, writer = await asyncio.open_connection("127.0.0.1", service.port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
    await writer.drain()
    return writer


async def answered(tasks: list[asyncio.Task[Any]], count: int) -> set[asyncio.Task[Any]]:
    """Wait (bounded) until `count` of `tasks` are done; return those."""
    async with asyncio.timeout(WAIT_SECONDS):
        while sum(task.done() for task in tasks) < count:
            await asyncio.wait([t for t in tasks if not t.done()], return_when="FIRST_COMPLETED")
    return {task for task in tasks if task.done()}


async def test_abandoned_requests_stop_waiting_and_the_shared_refresh_goes_on(
    start_service: ServiceFactory, switchable_upstream: SwitchableUpstream
) -> None:
    fake, host = switchable_upstream.fake, switchable_upstream.url
    fake.default = Reply(stall=True)
    gate = asyncio.Event()
    # A second call would also be let through the gate, so it shows up as a count, not a hang.
    fake.script(
        "COLD",
        Reply(series_body("COLD", ["10", "20"]), gate=gate),
        Reply(series_body("COLD", ["99"]), gate=gate),
    )
    service = await start_service(live_env(host, **HANGING))
    path = "/ndays?symbol=COLD&ndays=2"
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session,
        probing_health(session, service.url) as health,
    ):
        writers = [await raw_request(service, path) for _ in range(ABANDONING_CLIENTS)]
        await asyncio.wait_for(fake.arrived.wait(), WAIT_SECONDS)
        await wait_for_metrics(
            session, service.url, waiting(ABANDONING_CLIENTS), "every client waiting"
        )

        for writer in writers:  # every client gives up
            writer.close()
        await asyncio.gather(*(writer.wait_closed() for writer in writers))
        after = await wait_for_metrics(session, service.url, waiting(0), "the waiters gone")
        # ... although the one refresh they joined still hangs on the upstream.
        assert fake.in_flight == 1
        assert dict(fake.calls) == {"COLD": 1}
        assert after.value("http_requests_in_progress", method="GET") == 1  # this scrape
        assert after.value("stock_api_cache_miss_total") == ABANDONING_CLIENTS
        # Each one is counted and logged as nginx does, 499: client closed the request.
        gone = {"method": "GET", "route": "/ndays", "status": "499"}
        assert after.value("http_requests_total", **gone) == ABANDONING_CLIENTS
        closed = await wait_for_log(
            service.log_path,
            lambda e: e["logger"] == "stock_ticker.access" and e["status"] == 499,
            "an access line per client that left",
            at_least=ABANDONING_CLIENTS,
        )
        assert len(closed) == ABANDONING_CLIENTS
        assert {e["path"] for e in closed} == {"/ndays"}

        # A patient client joins the refresh the others left (no second call) and gets its data.
        async def patient() -> tuple[int, str, dict[str, Any]]:
            async with session.get(service.url + path) as response:
                return response.status, response.headers["X-Cache"], await response.json()

        late = asyncio.ensure_future(patient())
        await wait_for_metrics(session, service.url, waiting(1), "the patient client waiting")
        gate.set()
        status, cache, body = await late
        assert (status, cache) == (200, "MISS")
        assert [day["close"] for day in body["daily_data"]] == [10, 20]
        assert dict(fake.calls) == {"COLD": 1}
        assert (await scrape(session, service.url)).value(WAITING) == 0

    assert health
    assert set(health) == {200}


async def test_beyond_the_bound_a_cold_symbol_gets_503_at_once(
    start_service: ServiceFactory, switchable_upstream: SwitchableUpstream
) -> None:
    fake, host = switchable_upstream.fake, switchable_upstream.url
    fake.default = Reply(stall=True)
    service = await start_service(live_env(host, MAX_WAITING_REQUESTS=str(BOUND), **HANGING))
    async with (
        aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=30), connector=aiohttp.TCPConnector(limit=0)
        ) as session,
        probing_health(session, service.url) as health,
    ):

        async def ask(symbol: str) -> tuple[int, dict[str, str], dict[str, Any]]:
            async with session.get(f"{service.url}/ndays?symbol={symbol}") as response:
                return response.status, dict(response.headers), await response.json()

        tasks = [asyncio.ensure_future(ask("COLD")) for _ in range(PATIENT_CLIENTS)]
        turned_away = PATIENT_CLIENTS - BOUND
        await wait_for_metrics(
            session,
            service.url,
            lambda s: s.value(WAITING) == BOUND and s.value(OVERFLOW) == turned_away,
            f"{BOUND} waiting and {turned_away} turned away",
        )
        done = await answered(tasks, turned_away)
        for task in done:
            status, headers, body = task.result()
            assert status == 503
            assert headers["Content-Type"] == "application/problem+json"
            assert body["type"] == QUEUE_FULL
            assert body["status"] == 503
            assert headers["Retry-After"] == "1"  # the README's figure
            assert "X-Cache" not in headers

        # Exactly the bound is still waiting, on the one upstream call.
        now = await scrape(session, service.url)
        assert sum(not task.done() for task in tasks) == BOUND
        assert now.value(WAITING) == BOUND
        assert dict(fake.calls) == {"COLD": 1}

        # The bound is the service's, not the symbol's: another cold symbol spends no call.
        status, headers, body = await ask("OTHER")
        assert (status, body["type"], headers["Retry-After"]) == (503, QUEUE_FULL, "1")
        assert dict(fake.calls) == {"COLD": 1}
        assert (await scrape(session, service.url)).value(OVERFLOW) == turned_away + 1

        for task in tasks:  # the patient clients give up too: the room is free again
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await wait_for_metrics(session, service.url, waiting(0), "the waiters gone")
        again = asyncio.ensure_future(ask("OTHER"))
        await wait_for_metrics(session, service.url, waiting(1), "a new request waiting")
        assert not again.done()
        again.cancel()
        await asyncio.gather(again, return_exceptions=True)

    assert health
    assert set(health) == {200}


async def test_beyond_the_bound_a_stale_copy_is_served_at_once(
    start_service: ServiceFactory, switchable_upstream: SwitchableUpstream
) -> None:
    fake, host = switchable_upstream.fake, switchable_upstream.url
    fake.default = Reply(stall=True)
    fake.script("STL", Reply(series_body("STL", ["10"])))  # the copy; its refresh then hangs
    ttl = 0.6
    service = await start_service(
        live_env(
            host,
            MAX_WAITING_REQUESTS=str(BOUND),
            API_REFRESH_FREQUENCY_MINUTES=str(ttl / 60),
            STALE_WAIT_SECONDS="30",  # the stale waiters below wait for as long as the test runs
            **HANGING,
        )
    )
    async with (
        aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=30), connector=aiohttp.TCPConnector(limit=0)
        ) as session,
        probing_health(session, service.url) as health,
    ):

        async def ask(symbol: str) -> tuple[int, dict[str, str], dict[str, Any]]:
            async with session.get(f"{service.url}/ndays?symbol={symbol}") as response:
                return response.status, dict(response.headers), await response.json()

        status, headers, _ = await ask("STL")
        assert (status, headers["X-Cache"]) == (200, "MISS")
        await asyncio.sleep(ttl + 0.05)  # a clock condition, not a race: the TTL runs out

        tasks = [asyncio.ensure_future(ask("STL")) for _ in range(PATIENT_CLIENTS)]
        turned_away = PATIENT_CLIENTS - BOUND
        await wait_for_metrics(
            session,
            service.url,
            lambda s: s.value(WAITING) == BOUND and s.value(OVERFLOW) == turned_away,
            f"{BOUND} stale requests waiting and {turned_away} turned away",
        )
        done = await answered(tasks, turned_away)
        for task in done:
            status, headers, body = task.result()
            assert (status, headers["X-Cache"]) == (200, "STALE")
            assert "too many requests are waiting" in headers["Warning"]
            assert headers["Cache-Control"].split(",")[0] == "max-age=0"
            assert [day["close"] for day in body["daily_data"]] == [10]

        # The waiters are still waiting on the one hung refresh; a cold symbol is turned away.
        assert sum(not task.done() for task in tasks) == BOUND
        status, headers, body = await ask("COLD")
        assert (status, body["type"], headers["Retry-After"]) == (503, QUEUE_FULL, "1")
        now: Scrape = await scrape(session, service.url)
        assert now.value(WAITING) == BOUND
        assert now.value(OVERFLOW) == turned_away + 1
        assert now.value("stock_api_cache_stale_total") == turned_away
        assert dict(fake.calls) == {"STL": 2}  # the copy, and the refresh that hangs
        assert fake.in_flight == 1

        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await wait_for_metrics(session, service.url, waiting(0), "the waiters gone")

    assert health
    assert set(health) == {200}
