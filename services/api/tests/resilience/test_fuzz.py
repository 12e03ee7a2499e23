"""Group 4, fuzzing: schemathesis generates requests from the live `/openapi.json` of the real
process and checks every answer against that document: no 5xx, a documented status, the
documented content type, headers and body schema (problem bodies included).

Hypothesis runs in a worker thread (schemathesis calls are blocking) while the test's event loop
serves the fake upstream. Examples are bounded and the seed fixed, so a run is repeatable.
"""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.builders import series_body
from tests.support.fake_upstream import FakeAlphaVantage, Reply, SwitchableUpstream
from tests.support.fixtures import ServiceFactory
from tests.support.processes import ServerProcess
from tests.support.upstream_texts import DAILY_LIMIT_BODY, INVALID_CALL_BODY

pytestmark = pytest.mark.e2e

Upstream = tuple[FakeAlphaVantage, str]
SEED = 20261127
EXAMPLES = 120
CONFORMANCE = [
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
CHECKS = {
    GenerationMode.POSITIVE: [not_a_server_error, positive_data_acceptance, *CONFORMANCE],
    GenerationMode.NEGATIVE: [not_a_server_error, negative_data_rejection, *CONFORMANCE],
}


def healthy_upstream(fake: FakeAlphaVantage) -> None:
    """Every symbol has data, except those starting with a digit, which the upstream does not
    know (so 404 problems are generated too)."""

    def choose(symbol: str) -> Reply:
        if symbol[:1].isdigit():
            return Reply(INVALID_CALL_BODY)
        return Reply(series_body(symbol, ["3.5", "2.25", "1", "4", "5", "6", "7", "8"]))

    fake.choose = choose


def env(host: str, allowed: str) -> dict[str, str]:
    return {
        "STOCKS_API_HOST": host,
        "STOCKS_API_KEY": "FUZZ-KEY",
        "ENABLE_METRICS": "true",
        "ALLOWED_SYMBOLS": allowed,
        "UPSTREAM_RATE_PER_SECOND": "0",
        "UPSTREAM_DAILY_BUDGET": "0",
        "UPSTREAM_TIMEOUT_SECONDS": "0.3",
        "UPSTREAM_DEADLINE_SECONDS": "0.45",
        "LOG_LEVEL": "INFO",
    }


def fuzz(service: ServerProcess, path: str, mode: GenerationMode) -> Counter[int]:
    """Run up to EXAMPLES generated cases for `GET path`; return how often each status came."""
    schema = schemathesis.openapi.from_url(f"{service.url}/openapi.json")
    seen: Counter[int] = Counter()

    @seed(SEED)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(case=schema[path]["GET"].as_strategy(generation_mode=mode))
    def run(case: schemathesis.Case[Any]) -> None:
        response = case.call(timeout=10)
        seen[response.status_code] += 1
        case.validate_response(response, checks=CHECKS[mode])

    run()
    return seen


POSITIVE, NEGATIVE = GenerationMode.POSITIVE, GenerationMode.NEGATIVE


@pytest.mark.parametrize(
    ("allowed", "mode", "expected"),
    [
        pytest.param("*", POSITIVE, {200, 404}, id="any-symbol-positive"),
        pytest.param("AAPL,BRK.B", POSITIVE, {200, 403}, id="allow-list-positive"),
        pytest.param("*", NEGATIVE, {400}, id="any-symbol-negative"),
        pytest.param("AAPL,BRK.B", NEGATIVE, {400}, id="allow-list-negative"),
    ],
)
async def test_generated_ndays_requests_get_documented_answers_and_no_5xx(
    start_service: ServiceFactory,
    fake_upstream: Upstream,
    allowed: str,
    mode: GenerationMode,
    expected: set[int],
) -> None:
    fake, host = fake_upstream
    healthy_upstream(fake)
    service = await start_service(env(host, allowed))
    seen = await asyncio.to_thread(fuzz, service, "/ndays", mode)
    assert sum(seen.values()) >= EXAMPLES
    assert max(seen) < 500
    assert expected <= set(seen)  # the answers the variant exists for were really met


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
async def test_operations_endpoints_answer_as_documented(
    start_service: ServiceFactory, fake_upstream: Upstream, path: str
) -> None:
    fake, host = fake_upstream
    service = await start_service(env(host, "*"))
    seen = await asyncio.to_thread(fuzz, service, path, POSITIVE)
    assert set(seen) == {200}
    assert fake.total_calls == 0


def validate_all(service: ServerProcess, calls: list[tuple[str, dict[str, Any], int]]) -> None:
    """Make each call through schemathesis and validate its answer against the document."""
    schema = schemathesis.openapi.from_url(f"{service.url}/openapi.json")
    for path, query, status in calls:
        case = schema[path]["GET"].Case(query=query)
        response = case.call(timeout=10)
        assert response.status_code == status, (path, query, response.text)
        case.validate_response(response, checks=CONFORMANCE)


async def test_every_documented_error_answer_conforms_to_the_document(
    start_service: ServiceFactory, switchable_upstream: SwitchableUpstream
) -> None:
    """The 5xx answers fuzzing cannot reach with a healthy upstream, staged one by one."""
    fake = switchable_upstream.fake
    healthy_upstream(fake)
    fake.script("HTML", Reply(b"<html></html>"))
    fake.script("DOWN", Reply(status=500))
    fake.script("SLOW", Reply(stall=True))
    fake.script("THRO", Reply(DAILY_LIMIT_BODY))
    service = await start_service(
        {**env(switchable_upstream.url, "*"), "SHUTDOWN_DRAIN_SECONDS": "5"}
    )
    calls: list[tuple[str, dict[str, Any], int]] = [
        ("/ndays", {"symbol": "MSFT", "ndays": 3}, 200),
        ("/ndays", {"ndays": 0}, 400),
        ("/ndays", {"symbol": "1NOPE"}, 404),
        ("/ndays", {"symbol": "HTML"}, 502),
        ("/ndays", {"symbol": "THRO"}, 503),
        ("/ndays", {"symbol": "AAPL"}, 503),  # held off after the throttle, without a call
        ("/healthz", {}, 200),
        ("/readyz", {}, 200),
    ]
    await asyncio.to_thread(validate_all, service, calls)
    # A transient fault holds off every call of its process: one process for each.
    for symbol, status in (("DOWN", 503), ("SLOW", 504)):
        alone = await start_service(env(switchable_upstream.url, "*"))
        await asyncio.to_thread(validate_all, alone, [("/ndays", {"symbol": symbol}, status)])
    assert fake.calls["AAPL"] == 0
    service.signal(signal.SIGTERM)
    await asyncio.to_thread(validate_all, service, [("/readyz", {}, 503)])
