"""WEB_CONCURRENCY: a supervisor with worker processes sharing the port and the budget."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import aiohttp

from tests.conftest import API_KEY
from tests.support.fake_upstream import FakeAlphaVantage
from tests.support.fixtures import ServiceFactory

Upstream = tuple[FakeAlphaVantage, str]


def children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


async def test_workers_share_the_port_and_the_budget_and_drain_together(
    start_service: ServiceFactory, fake_upstream: Upstream
) -> None:
    _, host = fake_upstream
    service = await start_service(
        {
            "WEB_CONCURRENCY": "2",
            "STOCKS_API_HOST": host,
            "STOCKS_API_KEY": API_KEY,
            "UPSTREAM_DAILY_BUDGET": "25",
            "ENABLE_METRICS": "true",
            "SHUTDOWN_DRAIN_SECONDS": "0.5",
        }
    )
    while service.output().count('"message":"listening"') < 2:  # both workers up
        await asyncio.sleep(0.05)
    workers = children(service.proc.pid)
    assert len(workers) == 2
    async with aiohttp.ClientSession() as session:
        for _ in range(20):
            async with session.get(f"{service.url}/metrics") as response:
                text = await response.text()
                # 25 // 2 = 12 per worker; /metrics answers for both (test_worker_metrics.py)
                assert "stock_api_upstream_budget_remaining_calls 24.0" in text
    service.signal(signal.SIGTERM)
    assert await service.wait_exit(timeout=15) == 0
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text()


async def test_a_dead_worker_stops_the_set_with_an_error(start_service: ServiceFactory) -> None:
    service = await start_service({"WEB_CONCURRENCY": "2", "SHUTDOWN_DRAIN_SECONDS": "0.2"})
    while len(children(service.proc.pid)) < 2:
        await asyncio.sleep(0.05)
    os.kill(children(service.proc.pid)[0], signal.SIGKILL)
    assert await service.wait_exit(timeout=15) == 1
    assert "worker died; stopping the others" in service.output()


async def test_a_signal_while_workers_start_is_still_a_clean_stop(
    start_service: ServiceFactory,
) -> None:
    service = await start_service({"WEB_CONCURRENCY": "3", "SHUTDOWN_DRAIN_SECONDS": "0"})
    service.signal(signal.SIGTERM)  # some workers are very likely still importing
    assert await service.wait_exit(timeout=15) == 0
