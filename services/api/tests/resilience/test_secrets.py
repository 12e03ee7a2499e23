"""Group 5, secrets: with a distinctive API key, the whole fault matrix is run through the real
process at LOG_LEVEL=DEBUG; every response (status line, headers, body), every log line (the
process's real stdout) and /metrics are captured, and the key appears in none of them, in any
encoding. The fake upstream checks that the key really was sent, so its absence means something.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

import aiohttp
import pytest
from yarl import URL

from tests.conftest import API_KEY
from tests.resilience.faults import FAULTS, Fault
from tests.support.builders import series_body
from tests.support.fake_upstream import Reply, SwitchableUpstream
from tests.support.fixtures import ServiceFactory
from tests.support.processes import ServerProcess

pytestmark = pytest.mark.e2e

#: The suite's distinctive key plus characters that change when URL-encoded.
SECRET_KEY = f"{API_KEY}+s/e=c&r%t?"
GOOD = ["10", "11", "12", "13", "14", "15", "16", "17"]


def encodings(secret: str) -> set[str]:
    forms = {
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        URL.build(query={"apikey": secret}).raw_query_string.removeprefix("apikey="),
        json.dumps(secret)[1:-1],
    }
    return forms | {form.lower() for form in forms} | {API_KEY, API_KEY.lower()}


def service_env(upstream: SwitchableUpstream) -> dict[str, str]:
    return {
        "STOCKS_API_HOST": upstream.url,
        "STOCKS_API_KEY": SECRET_KEY,
        "LOG_LEVEL": "DEBUG",
        "ENABLE_METRICS": "true",
        "ALLOWED_SYMBOLS": "*",
        "UPSTREAM_RATE_PER_SECOND": "0",
        "UPSTREAM_DAILY_BUDGET": "0",
        "UPSTREAM_TIMEOUT_SECONDS": "0.3",
        "UPSTREAM_DEADLINE_SECONDS": "0.45",  # one attempt per refresh
        "API_REFRESH_FREQUENCY_MINUTES": "0.01",  # 0.6 s: stale copies come quickly
        "SHUTDOWN_DRAIN_SECONDS": "0",
    }


class Recorder:
    """Sends requests to one service and keeps everything that came back, byte for byte."""

    def __init__(self, session: aiohttp.ClientSession, service: ServerProcess) -> None:
        self.session = session
        self.service = service
        self.seen: list[str] = []
        self.statuses: list[int] = []

    async def request(
        self, path: str, method: str = "GET", headers: dict[str, str] | None = None
    ) -> tuple[int, str | None]:
        url = URL(self.service.url + path, encoded=True)
        async with self.session.request(method, url, headers=headers) as response:
            body = await response.read()
            head = b"".join(k + b": " + v + b"\n" for k, v in response.raw_headers)
            self.seen.append(f"{response.status} {response.reason}\n{head.decode('latin-1')}\n")
            self.seen.append(body.decode("latin-1"))
            self.statuses.append(response.status)
            return response.status, response.headers.get("X-Cache")

    async def until_not_hit(self, path: str) -> tuple[int, str | None]:
        deadline = time.monotonic() + 10
        while True:
            status, cache = await self.request(path)
            if cache != "HIT":
                return status, cache
            assert time.monotonic() < deadline, f"{path} never expired"
            await asyncio.sleep(0.05)  # polling for the short TTL to pass


async def run_faults(
    recorder: Recorder, upstream: SwitchableUpstream, group: str, faults: Iterable[Fault]
) -> None:
    """Each fault on two symbols: one cold (the problem answer), one with a stale copy."""
    fake = upstream.fake
    cases = [(f"{group}N{i:02d}", f"{group}S{i:02d}", fault) for i, fault in enumerate(faults)]
    for _cold, warm, fault in cases:
        fake.script(warm, Reply(series_body(warm, GOOD)))
        assert (await recorder.request(f"/ndays?symbol={warm}"))[0] == 200
        fake.script(warm, *fault.replies)
    for cold, warm, fault in cases:
        fake.script(cold, *fault.replies)
        if fault.refuse:
            await upstream.stop()
        assert (await recorder.request(f"/ndays?symbol={cold}&ndays=3"))[0] == fault.status
        assert await recorder.until_not_hit(f"/ndays?symbol={warm}") == (200, "STALE")
        await recorder.request(f"/ndays?symbol={warm}")  # resting on the stale copy
        if fault.refuse:
            await upstream.start()


async def run_everything_else(recorder: Recorder) -> None:
    for path in ("/healthz", "/readyz", "/openapi.json", "/docs", "/nope", "/ndays?ndays=x"):
        await recorder.request(path)
    await recorder.request("/ndays", method="POST")
    await recorder.request("/ndays?symbol=" + "A" * 3000)
    await recorder.request("/healthz", headers={f"X-Pad-{i}": "v" * 1000 for i in range(9)})
    await recorder.request("/metrics")


async def test_the_key_appears_in_no_response_log_line_or_metric(
    start_service: ServiceFactory, switchable_upstream: SwitchableUpstream
) -> None:
    # Throttles hold off every upstream call, so each throttle text gets a process of its own.
    groups = [[f for f in FAULTS if not f.throttle]] + [[f] for f in FAULTS if f.throttle]
    services = await asyncio.gather(
        *(start_service(service_env(switchable_upstream)) for _ in groups)
    )
    recorders: list[Recorder] = []
    async with aiohttp.ClientSession() as session:
        # The group with the refused connection runs last: it stops the shared upstream.
        for index, (service, faults) in reversed(
            list(enumerate(zip(services, groups, strict=True)))
        ):
            recorder = Recorder(session, service)
            recorders.append(recorder)
            await run_faults(recorder, switchable_upstream, f"G{index}", faults)
            await run_everything_else(recorder)
    for service in services:
        service.signal(signal.SIGTERM)  # the shutdown's log lines are captured too
        assert await service.wait_exit(timeout=15) == 0

    fake = switchable_upstream.fake
    assert fake.queries
    assert {query["apikey"] for query in fake.queries} == {SECRET_KEY}  # the key was in use
    statuses = {status for r in recorders for status in r.statuses}
    assert statuses >= {200, 400, 404, 405, 414, 431, 502, 503, 504}
    logs = "".join(service.output() for service in services)
    levels = {json.loads(line)["level"] for line in logs.splitlines()}
    assert {"DEBUG", "INFO", "WARNING", "ERROR"} <= levels  # bad-key answers log an ERROR
    metrics = [text for r in recorders for text in r.seen if "stock_api_upstream_requests" in text]
    assert len(metrics) == len(services)

    captured = {"responses": "".join(t for r in recorders for t in r.seen), "logs": logs}
    for where, text in captured.items():
        for form in encodings(SECRET_KEY):
            assert form not in text, f"the API key ({form!r}) leaked into the {where}"
