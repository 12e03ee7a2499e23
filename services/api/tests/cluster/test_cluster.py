"""A deployment on one machine: three `python -m stock_ticker` processes, one redis-server, the
fake upstream. One call however many replicas ask, state that outlives the replicas, a budget
counted once, and a store that may die, hang or come back without a 5xx for cached data."""

from __future__ import annotations

import asyncio
import signal
import time
from typing import Any

import aiohttp
import pytest

from tests.cluster.conftest import Cluster
from tests.support.builders import series_body
from tests.support.fake_upstream import FakeAlphaVantage, Reply
from tests.support.processes import ServerProcess
from tests.support.redis_server import RedisServer
from tests.support.scrape import Scrape, scrape, wait_for_metrics

pytestmark = pytest.mark.e2e

Upstream = tuple[FakeAlphaVantage, str]
WAITING = "stock_api_refresh_waiting_requests"
#: The longest a request may take while the store hangs: STALE_WAIT_SECONDS (1 s), with room for
#: a busy machine. Without the store's timeouts it would hang as long as the store does.
BOUND = 1.5


async def ask(
    session: aiohttp.ClientSession, service: ServerProcess, symbol: str
) -> tuple[int, str | None, dict[str, Any]]:
    """Status, X-Cache and body of `GET /ndays?symbol=...`."""
    async with session.get(f"{service.url}/ndays?symbol={symbol}") as response:
        return response.status, response.headers.get("X-Cache"), await response.json()


async def waiting(session: aiohttp.ClientSession, services: list[ServerProcess]) -> float:
    scrapes = await asyncio.gather(*(scrape(session, s.url) for s in services))
    return sum(s.value(WAITING) for s in scrapes)


async def test_300_cold_requests_over_three_replicas_make_one_upstream_call(
    cluster: Cluster, fake_upstream: Upstream
) -> None:
    fake, _ = fake_upstream
    gate = asyncio.Event()
    fake.script("MSFT", Reply(gate=gate))
    services = await cluster(3)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        asking = [asyncio.ensure_future(ask(session, services[i % 3], "MSFT")) for i in range(300)]
        async with asyncio.timeout(30):  # every request is waiting on the one refresh
            await fake.arrived.wait()  # which has reached the upstream (the count can lead it)
            while await waiting(session, services) < 300:
                # Polling the services' gauges, not hiding a race; not too often, as each scrape
                # takes the services' time from the requests it waits for.
                await asyncio.sleep(0.1)
        assert fake.total_calls == 1
        gate.set()
        answers = await asyncio.gather(*asking)
    assert {status for status, _, _ in answers} == {200}
    assert {cache for _, cache, _ in answers} == {"MISS"}
    assert fake.total_calls == 1


async def test_restarted_replicas_answer_from_the_shared_tier_and_keep_the_budget_spent(
    cluster: Cluster, fake_upstream: Upstream
) -> None:
    fake, _ = fake_upstream
    fake.default = Reply(series_body("ANY", ["1", "2", "3"]))
    env = {"UPSTREAM_DAILY_BUDGET": "2", "ALLOWED_SYMBOLS": "*"}
    first = await cluster(3, **env)
    async with aiohttp.ClientSession() as session:
        assert (await ask(session, first[0], "MSFT"))[:2] == (200, "MISS")
        assert (await ask(session, first[1], "AAPL"))[:2] == (200, "MISS")
        for service in first:
            service.stop()
        again = await cluster(3, **env)
        for service in again:
            assert (await ask(session, service, "MSFT"))[:2] == (200, "HIT")
        status, _, body = await ask(session, again[2], "IBM")
        assert status == 503
        assert body["type"] == "urn:stock-ticker:problem:upstream-budget"
        for service in again:
            spent = await scrape(session, service.url)
            assert spent.value("stock_api_upstream_budget_remaining_calls") == 0
    assert fake.total_calls == 2


async def test_a_killed_store_costs_no_5xx_for_cached_symbols_and_sharing_resumes(
    cluster: Cluster, fake_upstream: Upstream, redis_server: RedisServer
) -> None:
    fake, _ = fake_upstream
    fake.default = Reply(series_body("ANY", ["1", "2", "3"]))
    services = await cluster(3, ALLOWED_SYMBOLS="*", API_REFRESH_FREQUENCY_MINUTES="0.02")
    cached = ["MSFT", "AAPL", "IBM"]
    async with aiohttp.ClientSession() as session:
        for symbol in cached:
            await ask(session, services[0], symbol)
        stop = asyncio.Event()

        async def load() -> list[int]:
            statuses = []
            for i in range(10_000):  # bounded; ends when the test says
                if stop.is_set():
                    break
                status, _, _ = await ask(session, services[i % 3], cached[i % 3])
                statuses.append(status)
            return statuses

        loads = [asyncio.ensure_future(load()) for _ in range(6)]
        await asyncio.sleep(0.3)  # load before the store dies, across TTL expiries (1.2 s)
        redis_server.kill()
        await asyncio.sleep(1.5)  # and while it is dead
        redis_server.start()
        for service in services:  # each sees it back by itself, with no request needing it
            await wait_for_metrics(
                session, service.url, lambda s: s.value("stock_api_shared_store_up") == 1, "up"
            )
        stop.set()
        statuses = [status for statuses in await asyncio.gather(*loads) for status in statuses]
        assert len(statuses) > 100
        assert set(statuses) == {200}
        calls = fake.total_calls
        assert (await ask(session, services[0], "GOOG"))[1] == "MISS"
        assert (await ask(session, services[1], "GOOG"))[1] == "HIT"  # shared again
        assert fake.total_calls == calls + 1
        down = await scrape(session, services[0].url)
        assert down.value("stock_api_shared_store_errors_total") >= 1


async def test_a_hanging_store_delays_answers_no_more_than_the_wait_bounds(
    cluster: Cluster, fake_upstream: Upstream, redis_server: RedisServer
) -> None:
    fake, _ = fake_upstream
    fake.default = Reply(series_body("ANY", ["1", "2", "3"]))
    services = await cluster(
        2,
        ALLOWED_SYMBOLS="*",
        REDIS_TIMEOUT_SECONDS="0.1",
        API_REFRESH_FREQUENCY_MINUTES="0.01",  # 0.6 s: the copy goes stale during the test
        STALE_WAIT_SECONDS="1",
    )
    async with aiohttp.ClientSession() as session:
        for service in services:
            assert (await ask(session, service, "MSFT"))[0] == 200
        redis_server.pause()  # SIGSTOP: connections open, nothing answered
        try:
            for service in services:
                for symbol in ("MSFT", "AAPL", "IBM"):  # stale copies, cold symbols
                    started = time.monotonic()
                    status, _, _ = await ask(session, service, symbol)
                    assert status == 200
                    # At most one bounded wait on the store (0.25 s), then the upstream.
                    assert time.monotonic() - started < BOUND, symbol
            await asyncio.sleep(0.7)  # MSFT is stale everywhere now
            for service in services:
                started = time.monotonic()
                status, cache, _ = await ask(session, service, "MSFT")
                assert (status, cache) == (200, "MISS")
                assert time.monotonic() - started < BOUND
                async with session.get(f"{service.url}/readyz") as response:
                    assert response.status == 200  # readiness never depends on the store
                down = await scrape(session, service.url)
                assert down.value("stock_api_shared_store_up") == 0
        finally:
            redis_server.resume()


async def test_when_the_lease_holder_dies_another_replica_refreshes_after_it_lapses(
    cluster: Cluster, fake_upstream: Upstream
) -> None:
    fake, _ = fake_upstream
    gate = asyncio.Event()
    fake.script("MSFT", Reply(gate=gate))  # the holder's call never comes back
    env = {"UPSTREAM_TIMEOUT_SECONDS": "1", "UPSTREAM_DEADLINE_SECONDS": "1"}  # lease: 1 + 2 s
    holder, other = await cluster(2, **env)
    try:
        async with aiohttp.ClientSession() as session:
            asked = asyncio.ensure_future(ask(session, holder, "MSFT"))
            await fake.arrived.wait()
            taken = time.monotonic()
            holder.proc.send_signal(signal.SIGKILL)
            started = time.monotonic()
            status, cache, _ = await ask(session, other, "MSFT")
            assert (status, cache) == (200, "MISS")
            assert time.monotonic() - taken >= 2.5  # nobody called while the lease was live
            assert time.monotonic() - started < 5
            with pytest.raises(aiohttp.ClientError):
                await asked
    finally:
        gate.set()
    assert fake.total_calls == 2


async def test_three_replicas_with_a_budget_of_five_make_at_most_five_calls(
    cluster: Cluster, fake_upstream: Upstream
) -> None:
    fake, _ = fake_upstream
    fake.default = Reply(series_body("ANY", ["1", "2", "3"]))
    services = await cluster(
        3,
        ALLOWED_SYMBOLS="*",
        UPSTREAM_DAILY_BUDGET="5",
        # The budget is the point here: a store slowed down by a busy machine must neither look
        # down (a process would then spend a fallback budget) nor cost a slot it answered late.
        REDIS_TIMEOUT_SECONDS="2",
        REDIS_FALLBACK_DAILY_BUDGET="0",
    )
    symbols = [f"SYM{i:02d}" for i in range(20)]
    async with aiohttp.ClientSession() as session:
        answers = await asyncio.gather(
            *(ask(session, services[i % 3], s) for i, s in enumerate(symbols))
        )
        statuses = [status for status, _, _ in answers]
        assert statuses.count(200) == 5
        assert statuses.count(503) == 15
        for service in services:
            left: Scrape = await scrape(session, service.url)
            assert left.value("stock_api_upstream_budget_remaining_calls") == 0
    assert fake.total_calls == 5


async def test_workers_share_through_the_store_instead_of_splitting_the_budget(
    start_service: Any, fake_upstream: Upstream, redis_server: RedisServer
) -> None:
    fake, host = fake_upstream
    fake.default = Reply(series_body("ANY", ["1", "2", "3"]))
    service = await start_service(
        {
            "WEB_CONCURRENCY": "2",
            "STOCKS_API_HOST": host,
            "STOCKS_API_KEY": "TEST-KEY",
            "REDIS_URL": redis_server.url,
            "UPSTREAM_DAILY_BUDGET": "25",
            "UPSTREAM_RATE_PER_SECOND": "0",
            "ENABLE_METRICS": "true",
            "SHUTDOWN_DRAIN_SECONDS": "0",
        }
    )
    while service.output().count('"message":"listening"') < 2:  # both workers up
        await asyncio.sleep(0.05)
    async with aiohttp.ClientSession() as session:
        for _ in range(20):  # the kernel spreads the connections over both workers
            async with aiohttp.ClientSession() as fresh:
                assert (await ask(fresh, service, "MSFT"))[0] == 200
        # One budget for both (not 12 each), shown once, not summed over the workers.
        spent = await scrape(session, service.url)
        assert spent.value("stock_api_upstream_budget_remaining_calls") == 24
    assert fake.total_calls == 1
