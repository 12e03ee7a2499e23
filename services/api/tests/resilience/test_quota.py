"""Group 2, quota: a cold burst of 1,000 requests over 20 symbols stays inside the upstream budget,
never calls twice for one symbol, and answers what does not fit with 503 + Retry-After."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import random
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from stock_ticker.app import create_app
from stock_ticker.config import Settings
from tests.conftest import ClientFactory, live_settings
from tests.support.builders import series_body
from tests.support.fake_upstream import FakeAlphaVantage, Reply

Upstream = tuple[FakeAlphaVantage, str]
AiohttpClient = Callable[..., Awaitable[TestClient[web.Request, web.Application]]]

SYMBOLS = [f"SYM{i:02d}" for i in range(20)]
BURST = 1000
BUDGET_PROBLEM = "urn:stock-ticker:problem:upstream-budget"


@dataclasses.dataclass(frozen=True)
class Answer:
    symbol: str
    status: int
    headers: dict[str, str]
    body: dict[str, Any]


async def burst(client: TestClient[web.Request, web.Application]) -> list[Answer]:
    """BURST requests issued at once (the client keeps up to 100 connections busy), symbols in
    a seeded shuffle."""
    order = [SYMBOLS[i % len(SYMBOLS)] for i in range(BURST)]
    random.Random(4).shuffle(order)

    async def one(symbol: str) -> Answer:
        async with client.get(f"/ndays?symbol={symbol}") as response:
            return Answer(symbol, response.status, dict(response.headers), await response.json())

    return await asyncio.gather(*(one(symbol) for symbol in order))


def metric(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    raise AssertionError(f"{name} {labels} not in /metrics")


def by_symbol(answers: list[Answer]) -> dict[str, set[int]]:
    statuses: defaultdict[str, set[int]] = defaultdict(set)
    for answer in answers:
        statuses[answer.symbol].add(answer.status)
    return statuses


def assert_budget_refusal(answer: Answer) -> None:
    assert answer.status == 503
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.body["type"] == BUDGET_PROBLEM
    assert answer.body["title"] == "Upstream budget spent"
    assert int(answer.headers["Retry-After"]) >= 1
    assert "X-Cache" not in answer.headers


def every_symbol(fake: FakeAlphaVantage) -> None:
    fake.default = Reply(series_body("ANY", ["1", "2", "3", "4", "5", "6", "7"]))


async def test_a_daily_budget_of_five_serves_five_symbols_and_refuses_the_rest_without_calling(
    make_client: ClientFactory, fake_upstream: Upstream
) -> None:
    fake, host = fake_upstream
    every_symbol(fake)
    settings = live_settings(
        host, allow_any_symbol=True, upstream_daily_budget=5, upstream_rate_per_second=0
    )
    client = await make_client(settings)
    answers = await burst(client)

    assert fake.total_calls == 5
    assert max(fake.calls.values()) == 1  # never twice for one symbol
    statuses = by_symbol(answers)
    served = {symbol for symbol, seen in statuses.items() if seen == {200}}
    refused = {symbol for symbol, seen in statuses.items() if seen == {503}}
    assert served == set(fake.calls)  # a symbol that got its call is served to every client
    assert len(refused) == 15
    assert served | refused == set(SYMBOLS)
    for answer in answers:
        if answer.status == 503:
            assert_budget_refusal(answer)
            # The rolling day: the oldest of the five calls frees a slot 24 h after it was made.
            assert 86000 < int(answer.headers["Retry-After"]) <= 86400
        else:
            assert answer.headers["X-Cache"] in {"MISS", "HIT"}

    text = await (await client.get("/metrics")).text()
    refusals = metric(text, "stock_api_upstream_budget_refusals_total", reason="budget")
    # One refusal per refused refresh: at least one per refused symbol, never more than the
    # 503s (concurrent requests for a symbol share one refusal).
    assert len(refused) <= refusals <= sum(a.status == 503 for a in answers)
    assert metric(text, "stock_api_upstream_budget_remaining_calls") == 0


async def test_the_default_pace_of_one_call_a_second_refuses_what_does_not_fit_the_deadline(
    aiohttp_client: AiohttpClient, fake_upstream: Upstream
) -> None:
    """Real time here: the pace is waited out for real, so the deadline is kept short."""
    fake, host = fake_upstream
    every_symbol(fake)
    settings: Settings = live_settings(
        host,
        allow_any_symbol=True,
        upstream_rate_per_second=1.0,
        upstream_daily_budget=25,
        upstream_deadline_seconds=1.5,  # a slot must come within 1 s to leave time for the call
    )
    client = await aiohttp_client(create_app(settings))
    answers = await burst(client)

    calls = fake.total_calls
    assert max(fake.calls.values()) == 1
    statuses = by_symbol(answers)
    assert {symbol for symbol, seen in statuses.items() if 200 in seen} == set(fake.calls)
    assert all(a.headers["X-Cache"] in {"MISS", "HIT"} for a in answers if a.status == 200)
    # Calls are paced: one a second (the tolerance only absorbs event-loop lateness; unpaced,
    # twenty calls would land within milliseconds).
    gaps = [later - earlier for earlier, later in itertools.pairwise(fake.call_times)]
    assert all(gap > 0.75 for gap in gaps), gaps
    refusals = [answer for answer in answers if answer.status != 200]
    assert refusals, "the burst should not fit the pace"
    for answer in refusals:
        assert_budget_refusal(answer)
        assert "paced" in answer.body["detail"]
        assert int(answer.headers["Retry-After"]) <= 2  # the next slot is at most a second or two

    text = await (await client.get("/metrics")).text()
    refused = metric(text, "stock_api_upstream_budget_refusals_total", reason="budget")
    assert 1 <= refused <= len(refusals)
    assert metric(text, "stock_api_upstream_budget_remaining_calls") == 25 - calls
