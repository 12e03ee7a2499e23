"""Issue 9, point 7, through the real process: from SIGTERM to exit never more than
`SHUTDOWN_DRAIN_SECONDS` + `SHUTDOWN_TIMEOUT_SECONDS`, whatever is in flight. Here 200 distinct
cold symbols wait on refreshes that hang (60 s timeout and deadline), and one request waits on
the refresh of a stale symbol: the process exits 0 in time, and every waiting client gets an
answer (a 503 problem, the stale copy for the one that has one), not a dropped connection.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from typing import Any

import aiohttp
import pytest

from tests.conftest import live_env
from tests.support.builders import series_body
from tests.support.fake_upstream import Reply, SwitchableUpstream
from tests.support.fixtures import ServiceFactory
from tests.support.scrape import log_entries, wait_for_metrics

pytestmark = pytest.mark.e2e

COLD_SYMBOLS = [f"C{i:03d}" for i in range(200)]
DRAIN_SECONDS = 0.5
SHUTDOWN_TIMEOUT_SECONDS = 2.0
#: Slack for a loaded machine (process and interpreter exit, coverage writing its data).
MARGIN_SECONDS = 1.5
TTL_SECONDS = 0.6

Answer = tuple[int, dict[str, str], dict[str, Any]] | BaseException


async def test_sigterm_with_hung_refreshes_exits_within_drain_plus_timeout_and_answers_all(
    start_service: ServiceFactory, switchable_upstream: SwitchableUpstream
) -> None:
    fake, host = switchable_upstream.fake, switchable_upstream.url
    fake.default = Reply(stall=True)
    fake.script("STL", Reply(series_body("STL", ["10"])))  # the copy; its refresh then hangs
    service = await start_service(
        live_env(
            host,
            UPSTREAM_TIMEOUT_SECONDS="60",
            UPSTREAM_DEADLINE_SECONDS="60",
            SHUTDOWN_DRAIN_SECONDS=str(DRAIN_SECONDS),
            SHUTDOWN_TIMEOUT_SECONDS=str(SHUTDOWN_TIMEOUT_SECONDS),
            API_REFRESH_FREQUENCY_MINUTES=str(TTL_SECONDS / 60),
            STALE_WAIT_SECONDS="60",  # the stale request waits on its refresh until shutdown
        )
    )
    async with aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=60), connector=aiohttp.TCPConnector(limit=0)
    ) as session:

        async def ask(symbol: str) -> tuple[int, dict[str, str], dict[str, Any]]:
            async with session.get(f"{service.url}/ndays?symbol={symbol}") as response:
                return response.status, dict(response.headers), json.loads(await response.read())

        status, headers, _ = await ask("STL")
        assert (status, headers["X-Cache"]) == (200, "MISS")
        await asyncio.sleep(TTL_SECONDS + 0.05)  # a clock condition, not a race: the TTL runs out

        stale = asyncio.ensure_future(ask("STL"))
        cold = [asyncio.ensure_future(ask(symbol)) for symbol in COLD_SYMBOLS]
        await wait_for_metrics(
            session,
            service.url,
            lambda s: s.value("stock_api_refresh_waiting_requests") == len(cold) + 1,
            "every request waiting on its refresh",
        )

        signalled = time.monotonic()
        service.signal(signal.SIGTERM)
        exit_status = await service.wait_exit(timeout=30)
        took = time.monotonic() - signalled
        answers: list[Answer] = await asyncio.gather(*cold, return_exceptions=True)
        stale_answer: Answer = (await asyncio.gather(stale, return_exceptions=True))[0]

    assert exit_status == 0
    bound = DRAIN_SECONDS + SHUTDOWN_TIMEOUT_SECONDS
    assert took < bound + MARGIN_SECONDS, f"exit {took:.2f} s after SIGTERM (promise: {bound} s)"

    dropped = [a for a in answers if isinstance(a, BaseException)]
    assert dropped == [], f"{len(dropped)} connections dropped, first: {dropped[:1]!r}"
    for answer in answers:
        assert not isinstance(answer, BaseException)
        status, headers, body = answer
        assert status == 503
        assert headers["Content-Type"] == "application/problem+json"
        assert body["type"] == "urn:stock-ticker:problem:upstream-unavailable"
        assert body["detail"] == "the service is shutting down"
        assert int(headers["Retry-After"]) >= 1
    assert not isinstance(stale_answer, BaseException), repr(stale_answer)
    status, headers, body = stale_answer
    assert (status, headers["X-Cache"]) == (200, "STALE")
    assert [day["close"] for day in body["daily_data"]] == [10]

    entries = log_entries(service.log_path)
    assert not [e for e in entries if e["level"] in {"ERROR", "CRITICAL"}]
    lifecycle = [e["message"] for e in entries if e["logger"] == "stock_ticker.server"]
    assert lifecycle[-3:] == [
        "SIGTERM: draining",
        "stopping: finishing requests in flight",
        "stopped",
    ]
    access = [e for e in entries if e["logger"] == "stock_ticker.access" and e["route"] == "/ndays"]
    assert sorted(e["status"] for e in access) == [200, 200] + [503] * len(COLD_SYMBOLS)
