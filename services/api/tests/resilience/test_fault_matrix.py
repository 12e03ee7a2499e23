"""Group 1, the fault matrix: every upstream fault through the real app against a fake upstream on
a real port, with and without a stale copy, and proof that nothing bad was cached.

Time is the `make_client` FakeClock: cooldowns, hold-offs and TTLs are crossed by moving it. The
matrix allows one attempt per refresh (a deadline shorter than the minimum attempt time), so each
fault costs exactly the calls it lists; retries have their own tests at the end.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient

from stock_ticker.config import Settings
from tests.conftest import ClientFactory, live_settings
from tests.resilience.faults import (
    FAULTS,
    OVERSIZED_HEADERS,
    PROBLEM,
    QUIRKS,
    Fault,
    Quirk,
)
from tests.support.builders import series_body
from tests.support.clock import FakeClock
from tests.support.fake_upstream import FakeAlphaVantage, Reply, SwitchableUpstream
from tests.support.upstream_texts import (
    BAD_KEY_BODY,
    DAILY_LIMIT_BODY,
    DEMO_KEY_BODY,
    INVALID_CALL_BODY,
    OLD_NOTE_BODY,
    PREMIUM_BODY,
)

TTL = 60.0
#: Shorter than the service's minimum attempt time: one attempt per refresh, no retry.
ONE_ATTEMPT_DEADLINE = 0.45
GOOD_V1 = ["10", "11", "12", "13", "14", "15", "16", "17"]
GOOD_V2 = ["50", "52", "54", "56", "58", "60", "62", "64"]
#: Short: the negative cache expires in real time, so the matrix waits it out (see next_fresh).
NEGATIVE_CACHE_SECONDS = 0.3
#: RFC 9111 warning: code, agent, and a quoted-string (a quote inside only as the pair \").
STALE_WARNING = re.compile(r'110 stock-ticker "Response is Stale: (?:[^"\\\r\n]|\\[^\r\n])+"')


def matrix_settings(upstream: SwitchableUpstream, fault: Fault | None = None) -> Settings:
    return live_settings(
        upstream.url,
        cache_ttl_seconds=TTL,
        upstream_timeout_seconds=fault.timeout if fault else 2.0,
        upstream_deadline_seconds=ONE_ATTEMPT_DEADLINE,
        negative_cache_seconds=NEGATIVE_CACHE_SECONDS,
    )


def average(closes: list[str], n: int = 7) -> float:
    picked = [Decimal(c) for c in closes[:n]]
    return float((sum(picked, Decimal(0)) / len(picked)).quantize(Decimal("0.0001")))


async def inject(fault: Fault, upstream: SwitchableUpstream) -> None:
    if fault.refuse:
        await upstream.stop()
    else:
        upstream.fake.script("MSFT", *fault.replies)


async def heal(upstream: SwitchableUpstream, closes: list[str]) -> None:
    if not upstream.running:
        await upstream.start()
    upstream.fake.script("MSFT", Reply(series_body("MSFT", closes)))


async def assert_problem(response: ClientResponse, fault: Fault) -> dict[str, Any]:
    assert response.status == fault.status, await response.text()
    assert response.content_type == "application/problem+json"
    problem: dict[str, Any] = await response.json()
    assert problem == {
        "type": PROBLEM + fault.slug,
        "title": fault.title,
        "status": fault.status,
        "detail": problem["detail"],
        "instance": "/ndays",
        "request_id": response.headers["X-Request-ID"],
    }
    assert fault.detail_has in problem["detail"]
    assert "X-Cache" not in response.headers
    if fault.retry_after is not None:
        assert response.headers["Retry-After"] == str(fault.retry_after)
    else:
        assert "Retry-After" not in response.headers
    return problem


async def assert_fresh(response: ClientResponse, closes: list[str]) -> None:
    """A 200 fetched just now (MISS) carrying exactly the upstream's latest data."""
    assert response.status == 200, await response.text()
    assert response.headers["X-Cache"] == "MISS"
    # Whole seconds of freshness left: the TTL, or one less once backoff moved the clock.
    assert response.headers["Cache-Control"].split(",")[0] in {
        f"max-age={int(TTL)}",
        f"max-age={int(TTL) - 1}",
    }
    assert "Warning" not in response.headers
    body = await response.json()
    assert [bar["close"] for bar in body["daily_data"]] == [float(c) for c in closes[:7]]
    assert body["average_closing_price"] == average(closes)


async def next_fresh(
    client: TestClient[web.Request, web.Application],
    fake: FakeAlphaVantage,
    fault: Fault,
    resting: Callable[[ClientResponse], Awaitable[None]],
) -> ClientResponse:
    """The first answer fetched from the upstream again once the fault is over.

    Nothing but an unknown symbol may be remembered, so for every other fault that is the very
    next request. An unknown symbol is remembered in real time (the negative cache is the cache's
    own TTL, not the service clock): until it expires, each answer must be `resting` and cost no
    call, so this polls.
    """
    if not fault.remembered:
        return await client.get("/ndays")
    calls = fake.total_calls
    deadline = time.monotonic() + 10
    while True:
        response = await client.get("/ndays")
        if fake.total_calls > calls:
            return response
        await resting(response)
        assert time.monotonic() < deadline, "the service never asked the upstream again"
        await asyncio.sleep(0.05)  # polling for the negative cache to expire


def fault_ids(fault: Fault) -> str:
    return fault.id


@pytest.mark.parametrize("fault", FAULTS, ids=fault_ids)
async def test_fault_without_a_stale_copy_is_a_problem_and_is_not_cached(
    fault: Fault,
    switchable_upstream: SwitchableUpstream,
    make_client: ClientFactory,
    clock: FakeClock,
) -> None:
    fake = switchable_upstream.fake
    client = await make_client(matrix_settings(switchable_upstream, fault))
    await inject(fault, switchable_upstream)

    await assert_problem(await client.get("/ndays"), fault)
    assert fake.calls["MSFT"] == fault.calls

    if fault.rest:
        # The symbol rests (a throttle holds off every call): the answer repeats at once, with
        # the time left, without spending a call...
        await assert_problem(
            await client.get("/ndays"), dataclasses.replace(fault, retry_after=int(fault.rest))
        )
        clock.advance(fault.rest - 1)
        await assert_problem(await client.get("/ndays"), dataclasses.replace(fault, retry_after=1))
        assert fake.calls["MSFT"] == fault.calls
        clock.advance(1)  # ...and never for longer than announced.
    if fault.remembered:
        # An unknown symbol is remembered briefly: asking again in a loop spends nothing.
        await assert_problem(await client.get("/ndays"), fault)
        assert fake.calls["MSFT"] == fault.calls

    await heal(switchable_upstream, GOOD_V2)

    async def same_problem(response: ClientResponse) -> None:
        await assert_problem(response, fault)

    await assert_fresh(await next_fresh(client, fake, fault, same_problem), GOOD_V2)
    assert fake.calls["MSFT"] == fault.calls + 1
    hit = await client.get("/ndays")
    assert hit.headers["X-Cache"] == "HIT"  # the good answer, not the fault, is what was cached


@pytest.mark.parametrize("fault", FAULTS, ids=fault_ids)
async def test_fault_with_a_stale_copy_serves_it_marked_stale_then_recovers(
    fault: Fault,
    switchable_upstream: SwitchableUpstream,
    make_client: ClientFactory,
    clock: FakeClock,
) -> None:
    fake = switchable_upstream.fake
    client = await make_client(matrix_settings(switchable_upstream, fault))
    fake.script("MSFT", Reply(series_body("MSFT", GOOD_V1)))
    first = await client.get("/ndays")
    await assert_fresh(first, GOOD_V1)
    good_body = await first.read()

    clock.advance(TTL + 1)
    await inject(fault, switchable_upstream)
    stale = await client.get("/ndays")
    assert stale.status == 200, await stale.text()
    assert stale.content_type == "application/json"
    assert await stale.read() == good_body
    assert stale.headers["X-Cache"] == "STALE"
    assert stale.headers["Cache-Control"].split(",")[0] == "max-age=0"
    assert stale.headers["Age"] == str(int(TTL + 1))
    assert STALE_WARNING.fullmatch(stale.headers["Warning"]), stale.headers["Warning"]
    assert fake.calls["MSFT"] == 1 + fault.calls

    # The symbol rests on its stale copy: answered at once, the upstream left alone.
    fetched_at = clock.now - (TTL + 1)

    async def resting_on_stale(response: ClientResponse) -> None:
        assert response.status == 200, await response.text()
        assert response.headers["X-Cache"] == "STALE"
        assert response.headers["Age"] == str(int(clock.now - fetched_at))
        assert STALE_WARNING.fullmatch(response.headers["Warning"])
        assert await response.read() == good_body

    await resting_on_stale(await client.get("/ndays"))
    clock.advance(max(fault.rest, 1) - 1)
    await resting_on_stale(await client.get("/ndays"))
    assert fake.calls["MSFT"] == 1 + fault.calls

    clock.advance(1)
    await heal(switchable_upstream, GOOD_V2)
    await assert_fresh(await next_fresh(client, fake, fault, resting_on_stale), GOOD_V2)
    assert fake.calls["MSFT"] == 2 + fault.calls


async def test_a_throttle_on_one_symbol_holds_off_every_symbol(
    switchable_upstream: SwitchableUpstream, make_client: ClientFactory, clock: FakeClock
) -> None:
    fake = switchable_upstream.fake
    settings = dataclasses.replace(matrix_settings(switchable_upstream), allow_any_symbol=True)
    client = await make_client(settings)
    fake.script("IBM", Reply(series_body("IBM", GOOD_V1)))
    await assert_fresh(await client.get("/ndays?symbol=IBM"), GOOD_V1)
    clock.advance(TTL + 1)
    fake.script("MSFT", Reply(DAILY_LIMIT_BODY))
    assert (await client.get("/ndays")).status == 503
    # IBM has a stale copy: served from it, no call. AAPL has none: 503 with the time left.
    clock.advance(20)
    ibm = await client.get("/ndays?symbol=IBM")
    assert ibm.headers["X-Cache"] == "STALE"
    aapl = await client.get("/ndays?symbol=AAPL")
    assert aapl.status == 503
    assert (await aapl.json())["type"] == PROBLEM + "upstream-throttled"
    assert aapl.headers["Retry-After"] == "40"
    assert fake.total_calls == 2
    clock.advance(40)
    assert (await client.get("/ndays?symbol=AAPL")).headers["X-Cache"] == "MISS"
    assert fake.calls["AAPL"] == 1


def quirk_ids(quirk: Quirk) -> str:
    return quirk.id


@pytest.mark.parametrize("with_stale_copy", [False, True], ids=["cold", "stale-copy"])
@pytest.mark.parametrize("quirk", QUIRKS, ids=quirk_ids)
async def test_odd_but_valid_series_are_served_as_data(
    quirk: Quirk,
    with_stale_copy: bool,
    switchable_upstream: SwitchableUpstream,
    make_client: ClientFactory,
    clock: FakeClock,
) -> None:
    fake = switchable_upstream.fake
    client = await make_client(matrix_settings(switchable_upstream))
    if with_stale_copy:
        fake.script("MSFT", Reply(series_body("MSFT", GOOD_V1)))
        await assert_fresh(await client.get("/ndays"), GOOD_V1)
        clock.advance(TTL + 1)
    fake.script("MSFT", Reply(quirk.body))
    response = await client.get(f"/ndays?ndays={quirk.ndays}")
    assert response.status == 200
    assert response.headers["X-Cache"] == "MISS"  # a success replaces the old copy
    body = await response.json()
    assert body["ndays"] == len(quirk.closes)
    assert [bar["date"] for bar in body["daily_data"]] == quirk.dates
    assert [bar["close"] for bar in body["daily_data"]] == quirk.closes
    assert body["average_closing_price"] == sum(quirk.closes) / len(quirk.closes)


TRANSIENT = [
    pytest.param(Reply(stall=True), id="timeout"),
    pytest.param(Reply(reset=True), id="reset-mid-body"),
    pytest.param(Reply(status=500), id="http-500"),
    pytest.param(Reply(status=502), id="http-502"),
    pytest.param(Reply(status=503), id="http-503"),
    pytest.param(Reply(status=429), id="http-429"),
]


@pytest.mark.parametrize("reply", TRANSIENT)
async def test_transient_faults_are_retried_within_the_deadline(
    reply: Reply,
    switchable_upstream: SwitchableUpstream,
    make_client: ClientFactory,
) -> None:
    fake = switchable_upstream.fake
    settings = dataclasses.replace(
        matrix_settings(switchable_upstream),
        upstream_timeout_seconds=0.2,
        upstream_deadline_seconds=20.0,
    )
    client = await make_client(settings)
    fake.script("MSFT", reply, Reply(series_body("MSFT", GOOD_V2)))
    await assert_fresh(await client.get("/ndays"), GOOD_V2)
    assert fake.calls["MSFT"] == 2


@pytest.mark.parametrize("reply", TRANSIENT)
async def test_a_refresh_makes_at_most_upstream_max_attempts(
    reply: Reply,
    switchable_upstream: SwitchableUpstream,
    make_client: ClientFactory,
) -> None:
    fake = switchable_upstream.fake
    settings = dataclasses.replace(
        matrix_settings(switchable_upstream),
        upstream_timeout_seconds=0.2,
        upstream_deadline_seconds=20.0,
    )
    assert settings.upstream_max_attempts == 2  # the default
    client = await make_client(settings)
    fake.script("MSFT", reply, reply, reply, Reply(series_body("MSFT", GOOD_V2)))
    assert (await client.get("/ndays")).status in {503, 504}
    assert fake.calls["MSFT"] == 2


PERMANENT = [
    pytest.param(Reply(INVALID_CALL_BODY), 404, id="unknown-symbol"),
    pytest.param(Reply(OLD_NOTE_BODY), 503, id="throttle-note"),
    pytest.param(Reply(DAILY_LIMIT_BODY), 503, id="throttle-information"),
    pytest.param(Reply(PREMIUM_BODY), 502, id="premium"),
    pytest.param(Reply(BAD_KEY_BODY), 502, id="bad-key"),
    pytest.param(Reply(DEMO_KEY_BODY), 502, id="demo-key"),
    pytest.param(Reply(b"<html></html>"), 502, id="html-body"),
    pytest.param(Reply(b'{"Meta Data": {'), 502, id="truncated-json"),
    pytest.param(Reply(headers=OVERSIZED_HEADERS), 502, id="oversized-headers"),
    pytest.param(Reply(hang_up=True), 503, id="closed-without-answer"),
]


@pytest.mark.parametrize(("reply", "status"), PERMANENT)
async def test_permanent_answers_are_never_retried(
    reply: Reply,
    status: int,
    switchable_upstream: SwitchableUpstream,
    make_client: ClientFactory,
) -> None:
    fake = switchable_upstream.fake
    settings = dataclasses.replace(
        matrix_settings(switchable_upstream), upstream_deadline_seconds=20.0
    )
    client = await make_client(settings)
    fake.script("MSFT", reply, Reply(series_body("MSFT", GOOD_V2)))
    assert (await client.get("/ndays")).status == status
    assert fake.calls["MSFT"] == 1


async def test_the_stale_warning_stays_a_well_formed_ascii_header_whatever_the_upstream_wrote(
    switchable_upstream: SwitchableUpstream, make_client: ClientFactory, clock: FakeClock
) -> None:
    fake = switchable_upstream.fake
    client = await make_client(matrix_settings(switchable_upstream))
    fake.script("MSFT", Reply(series_body("MSFT", GOOD_V1)))
    await assert_fresh(await client.get("/ndays"), GOOD_V1)
    clock.advance(TTL + 1)
    # A body that repeats a key holding a quote and non-ASCII text: the upstream's own words
    # must not break the quoted-string of the Warning header or put non-ASCII bytes in it.
    fake.script("MSFT", Reply('{"a\\"b \u00e9": 1, "a\\"b \u00e9": 2}'.encode()))
    stale = await client.get("/ndays")
    assert stale.headers["X-Cache"] == "STALE"
    warning = stale.headers["Warning"]
    assert warning.isascii(), warning
    assert STALE_WARNING.fullmatch(warning), warning
