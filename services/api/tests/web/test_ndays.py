"""GET /ndays through the real app, against a fake upstream on a real port."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import pytest

from stock_ticker.config import Settings
from stock_ticker.service.hold_offs import REST_BASE_SECONDS
from tests.conftest import API_KEY, ClientFactory, live_settings
from tests.support.builders import sample_body, series_body
from tests.support.clock import FakeClock
from tests.support.fake_upstream import FakeAlphaVantage, Reply
from tests.support.upstream_texts import (
    BAD_KEY_BODY,
    DAILY_LIMIT_BODY,
    INVALID_CALL_BODY,
    PREMIUM_BODY,
)

Upstream = tuple[FakeAlphaVantage, str]


def expected_average(doc: dict[str, Any], n: int) -> float:
    rows = doc["Time Series (Daily)"]
    newest = sorted(rows, reverse=True)[:n]
    total = sum((Decimal(rows[d]["4. close"]) for d in newest), Decimal(0))
    return float((total / len(newest)).quantize(Decimal("0.0001"), ROUND_HALF_EVEN))


async def test_default_request_returns_the_latest_ndays_newest_first(
    make_client: ClientFactory, fake_upstream: Upstream
) -> None:
    fake, host = fake_upstream
    client = await make_client(live_settings(host))
    response = await client.get("/ndays")
    assert response.status == 200
    assert response.content_type == "application/json"
    body = await response.json()
    doc = sample_body("MSFT")
    assert body["symbol"] == "MSFT"
    assert body["ndays"] == 7
    assert body["source"] == "alphavantage"
    assert body["last_refreshed"] == doc["Meta Data"]["3. Last Refreshed"]
    dates = [row["date"] for row in body["daily_data"]]
    assert dates == sorted(doc["Time Series (Daily)"], reverse=True)[:7]
    first = doc["Time Series (Daily)"][dates[0]]
    assert body["daily_data"][0] == {
        "date": dates[0],
        "open": float(first["1. open"]),
        "high": float(first["2. high"]),
        "low": float(first["3. low"]),
        "close": float(first["4. close"]),
        "volume": int(first["5. volume"]),
    }
    assert body["average_closing_price"] == expected_average(doc, 7)
    assert fake.queries == [
        {
            "function": "TIME_SERIES_DAILY",
            "symbol": "MSFT",
            "outputsize": "compact",
            "apikey": API_KEY,
        }
    ]


async def test_average_is_decimal_and_rounded_half_even(
    make_client: ClientFactory, fake_upstream: Upstream
) -> None:
    fake, host = fake_upstream
    # 0.00005 exactly halfway: half-even keeps 0.1000, half-up would give 0.1001; binary floats
    # would not even see the tie.
    fake.script("MSFT", Reply(series_body("MSFT", ["0.10005", "0.09995", "0.1001", "0.0999"])))
    client = await make_client(live_settings(host))
    body = await (await client.get("/ndays?ndays=2")).json()
    assert body["average_closing_price"] == 0.1
    body = await (await client.get("/ndays?ndays=3")).json()
    assert body["average_closing_price"] == 0.1  # 0.30015 / 3 = 0.10005 → 0.1000 (half-even)


async def test_unsorted_upstream_dates_are_sorted_by_the_service(
    make_client: ClientFactory, fake_upstream: Upstream
) -> None:
    fake, host = fake_upstream
    doc = series_body("MSFT", ["3", "2", "1"])
    doc["Time Series (Daily)"] = dict(reversed(list(doc["Time Series (Daily)"].items())))
    fake.script("MSFT", Reply(doc))
    client = await make_client(live_settings(host))
    body = await (await client.get("/ndays?ndays=3")).json()
    assert [row["close"] for row in body["daily_data"]] == [3, 2, 1]
    assert [row["date"] for row in body["daily_data"]] == ["2026-11-27", "2026-11-26", "2026-11-25"]


async def test_fewer_rows_than_asked_returns_what_exists(
    make_client: ClientFactory, fake_upstream: Upstream
) -> None:
    fake, host = fake_upstream
    fake.script("MSFT", Reply(series_body("MSFT", ["10", "20"])))
    client = await make_client(live_settings(host))
    body = await (await client.get("/ndays?ndays=100")).json()
    assert body["ndays"] == 2
    assert len(body["daily_data"]) == 2
    assert body["average_closing_price"] == 15.0


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("ndays=0", "ndays"),
        ("ndays=101", "ndays"),
        ("ndays=abc", "ndays"),
        ("ndays=7.5", "ndays"),
        ("ndays=+7", "ndays"),
        ("ndays=%D9%A7", "ndays"),  # an Arabic-Indic seven
        ("ndays=", "ndays"),
        ("symbol=", "symbol"),
        ("symbol", "symbol"),
        ("symbol=TOOLONGSYMBOL", "symbol"),
        ("symbol=MS%20FT", "symbol"),
        ("symbol=MSFT%26apikey%3Dx", "symbol"),
        ("symbol=%D0%9CSFT", "symbol"),  # Cyrillic capital Em
        ("symbol=MS%00FT", "symbol"),
        ("symbol=%FF", "symbol"),  # not UTF-8
        ("symbol=../x", "symbol"),
        ("symbol=MSFT&symbol=AAPL", "symbol"),
        ("ndays=5&ndays=5", "ndays"),
        ("foo=1", "foo"),
    ],
)
async def test_malformed_parameters_are_400_problems_naming_the_parameter(
    make_client: ClientFactory, fake_upstream: Upstream, query: str, parameter: str
) -> None:
    fake, host = fake_upstream
    client = await make_client(live_settings(host))
    response = await client.get(f"/ndays?{query}")
    assert response.status == 400
    assert response.content_type == "application/problem+json"
    problem = await response.json()
    assert problem["status"] == 400
    assert problem["type"] == "urn:stock-ticker:problem:invalid-parameter"
    assert problem["instance"] == "/ndays"
    assert problem["request_id"] == response.headers["X-Request-ID"]
    assert [p["name"] for p in problem["invalid_params"]] == [parameter]
    assert parameter in problem["detail"]
    assert fake.total_calls == 0


async def test_accepted_form_is_named_in_the_400(
    make_client: ClientFactory, fake_upstream: Upstream
) -> None:
    _, host = fake_upstream
    client = await make_client(live_settings(host))
    problem = await (await client.get("/ndays?ndays=0&symbol=")).json()
    reasons = {p["name"]: p["reason"] for p in problem["invalid_params"]}
    assert reasons == {
        "ndays": "must be an integer from 1 to 100",
        "symbol": "must be 1 to 10 characters of letters, digits, '.' and '-'",
    }


async def test_symbol_is_case_insensitive_and_answered_upper_case(
    make_client: ClientFactory, fake_upstream: Upstream
) -> None:
    fake, host = fake_upstream
    client = await make_client(live_settings(host, allowed_symbols=frozenset({"BRK.B"})))
    fake.script("BRK.B", Reply(series_body("BRK.B", ["1"])))
    body = await (await client.get("/ndays?symbol=brk.b")).json()
    assert body["symbol"] == "BRK.B"
    assert fake.queries[0]["symbol"] == "BRK.B"
    body = await (await client.get("/ndays?symbol=msft&ndays=1")).json()
    assert body["symbol"] == "MSFT"


async def test_symbols_outside_allowed_symbols_are_403_without_an_upstream_call(
    make_client: ClientFactory, fake_upstream: Upstream
) -> None:
    fake, host = fake_upstream
    client = await make_client(live_settings(host, allowed_symbols=frozenset({"AAPL"})))
    assert (await client.get("/ndays?symbol=AAPL")).status == 200
    response = await client.get("/ndays?symbol=IBM")
    assert response.status == 403
    problem = await response.json()
    assert problem["type"] == "urn:stock-ticker:problem:symbol-not-allowed"
    assert "IBM" in problem["detail"]
    assert fake.calls["IBM"] == 0


async def test_wildcard_admits_any_well_formed_symbol(
    make_client: ClientFactory, fake_upstream: Upstream
) -> None:
    fake, host = fake_upstream
    fake.script("NVDA", Reply(series_body("NVDA", ["1"])))
    client = await make_client(live_settings(host, allow_any_symbol=True))
    assert (await client.get("/ndays?symbol=NVDA")).status == 200


async def test_cache_headers_hit_miss_and_ttl(
    make_client: ClientFactory, fake_upstream: Upstream, clock: FakeClock
) -> None:
    fake, host = fake_upstream
    client = await make_client(live_settings(host, cache_ttl_seconds=60.0))
    first = await client.get("/ndays")
    assert first.headers["X-Cache"] == "MISS"
    assert first.headers["Cache-Control"].split(",")[0] == "max-age=60"
    clock.advance(15.5)
    second = await client.get("/ndays?ndays=3")
    assert second.headers["X-Cache"] == "HIT"
    assert second.headers["Cache-Control"].split(",")[0] == "max-age=44"
    assert fake.total_calls == 1
    clock.advance(44.5)  # past the TTL
    third = await client.get("/ndays")
    assert third.headers["X-Cache"] == "MISS"
    assert fake.total_calls == 2


async def test_sub_minute_ttl_is_honoured(
    make_client: ClientFactory, fake_upstream: Upstream, clock: FakeClock
) -> None:
    fake, host = fake_upstream
    client = await make_client(live_settings(host, cache_ttl_seconds=3.0))  # 0.05 minutes
    await client.get("/ndays")
    clock.advance(2.9)
    assert (await client.get("/ndays")).headers["X-Cache"] == "HIT"
    clock.advance(0.2)
    assert (await client.get("/ndays")).headers["X-Cache"] == "MISS"
    assert fake.total_calls == 2


async def test_concurrent_cold_requests_make_one_upstream_call(
    make_client: ClientFactory, fake_upstream: Upstream
) -> None:
    fake, host = fake_upstream
    gate = asyncio.Event()
    fake.script("MSFT", Reply(gate=gate))
    client = await make_client(live_settings(host))
    requests = [asyncio.ensure_future(client.get("/ndays")) for _ in range(100)]
    await fake.arrived.wait()  # the one upstream call is held at the gate
    gate.set()
    responses = await asyncio.gather(*requests)
    assert {r.status for r in responses} == {200}
    assert {r.headers["X-Cache"] for r in responses} == {"MISS"}
    assert fake.total_calls == 1


@pytest.mark.parametrize(
    ("reply", "status", "slug"),
    [
        (Reply(INVALID_CALL_BODY), 404, "unknown-symbol"),
        (Reply(BAD_KEY_BODY), 502, "upstream-bad-answer"),
        (Reply(PREMIUM_BODY), 502, "upstream-bad-answer"),
        (Reply(b"<html>oops</html>"), 502, "upstream-bad-answer"),
        (Reply(DAILY_LIMIT_BODY), 503, "upstream-throttled"),
        (Reply(status=500), 503, "upstream-unavailable"),
    ],
)
async def test_upstream_faults_map_to_problems(
    make_client: ClientFactory,
    fake_upstream: Upstream,
    reply: Reply,
    status: int,
    slug: str,
) -> None:
    fake, host = fake_upstream
    fake.default = reply
    client = await make_client(live_settings(host, upstream_deadline_seconds=0.5))
    response = await client.get("/ndays")
    assert response.status == status
    assert response.content_type == "application/problem+json"
    problem = await response.json()
    assert problem["type"] == f"urn:stock-ticker:problem:{slug}"
    assert problem["status"] == status
    assert set(problem) >= {"type", "title", "status", "detail", "instance"}
    if status == 503:
        assert int(response.headers["Retry-After"]) >= 1
    text = await response.text()
    assert API_KEY not in text
    assert API_KEY not in str(response.headers)


async def test_upstream_timeout_is_504(make_client: ClientFactory, fake_upstream: Upstream) -> None:
    fake, host = fake_upstream
    fake.default = Reply(stall=True)
    settings = live_settings(host, upstream_timeout_seconds=0.2, upstream_deadline_seconds=0.3)
    client = await make_client(settings)
    response = await client.get("/ndays")
    assert response.status == 504
    assert (await response.json())["type"] == "urn:stock-ticker:problem:upstream-timeout"


async def test_nothing_bad_is_cached(
    make_client: ClientFactory, fake_upstream: Upstream, clock: FakeClock
) -> None:
    fake, host = fake_upstream
    fake.script("MSFT", Reply(status=502), Reply(b"{truncated"))
    client = await make_client(live_settings(host, upstream_deadline_seconds=0.01))
    assert (await client.get("/ndays")).status == 503
    clock.advance(REST_BASE_SECONDS)  # the rest after a failed refresh
    assert (await client.get("/ndays")).status == 502
    clock.advance(2 * REST_BASE_SECONDS)  # the second rest is twice as long
    good = await client.get("/ndays")
    assert good.status == 200
    assert good.headers["X-Cache"] == "MISS"


async def test_sample_mode_serves_bundled_data_marked_as_sample(
    make_client: ClientFactory,
) -> None:
    client = await make_client(Settings(allowed_symbols=frozenset({"AAPL", "ZZZZ"})))
    response = await client.get("/ndays?symbol=aapl&ndays=100")
    body = await response.json()
    assert body["source"] == "sample"
    assert body["ndays"] == 100
    dates = [dt.date.fromisoformat(row["date"]) for row in body["daily_data"]]
    assert dates == sorted(dates, reverse=True)
    assert (await client.get("/ndays?symbol=ZZZZ")).status == 404


async def test_stale_copy_over_http_carries_age_and_warning(
    make_client: ClientFactory, fake_upstream: Upstream, clock: FakeClock
) -> None:
    fake, host = fake_upstream
    client = await make_client(live_settings(host, cache_ttl_seconds=60.0))
    fresh = await (await client.get("/ndays")).read()
    fake.default = Reply(b"<html>maintenance</html>")
    clock.advance(90)
    response = await client.get("/ndays")
    assert response.status == 200
    assert await response.read() == fresh
    assert response.headers["X-Cache"] == "STALE"
    assert response.headers["Cache-Control"].split(",")[0] == "max-age=0"
    assert response.headers["Age"] == "90"
    assert response.headers["Warning"].startswith('110 stock-ticker "Response is Stale')


async def test_spent_budget_is_503_with_retry_after_and_no_call(
    make_client: ClientFactory, fake_upstream: Upstream
) -> None:
    fake, host = fake_upstream
    client = await make_client(live_settings(host, upstream_daily_budget=1, allow_any_symbol=True))
    assert (await client.get("/ndays")).status == 200
    response = await client.get("/ndays?symbol=AAPL")
    assert response.status == 503
    assert (await response.json())["type"] == "urn:stock-ticker:problem:upstream-budget"
    assert 86000 < int(response.headers["Retry-After"]) <= 86400
    assert fake.total_calls == 1


async def test_beyond_the_waiting_bound_a_cold_symbol_is_a_503_at_once(
    make_client: ClientFactory, fake_upstream: Upstream
) -> None:
    fake, host = fake_upstream
    gate = asyncio.Event()
    fake.default = Reply(gate=gate)  # the upstream holds its answer
    client = await make_client(live_settings(host, max_waiting_requests=1))
    waiting = asyncio.ensure_future(client.get("/ndays"))
    await fake.arrived.wait()
    busy = await client.get("/ndays")
    assert busy.status == 503
    assert busy.content_type == "application/problem+json"
    problem = await busy.json()
    assert problem["type"] == "urn:stock-ticker:problem:refresh-queue-full"
    assert busy.headers["Retry-After"] == "1"
    gate.set()
    assert (await waiting).status == 200
    assert fake.total_calls == 1
    metrics = await (await client.get("/metrics")).text()
    assert "stock_api_refresh_waiting_overflow_total 1.0" in metrics
    assert "stock_api_refresh_waiting_requests 0.0" in metrics


@pytest.mark.parametrize(
    ("reply", "status"),
    [(Reply(b"<html></html>"), 502), (Reply(stall=True), 504)],
    ids=["bad-answer", "timeout"],
)
async def test_a_resting_symbol_repeats_its_problem_with_the_time_left(
    make_client: ClientFactory, fake_upstream: Upstream, clock: FakeClock, reply: Reply, status: int
) -> None:
    fake, host = fake_upstream
    fake.script("MSFT", reply)
    settings = live_settings(host, upstream_timeout_seconds=0.1, upstream_deadline_seconds=0.2)
    client = await make_client(settings)
    first = await client.get("/ndays")
    assert first.status == status
    assert first.headers["Retry-After"] == str(int(REST_BASE_SECONDS))  # the rest it starts
    clock.advance(3)
    again = await client.get("/ndays")
    assert again.status == status
    assert again.headers["Retry-After"] == str(int(REST_BASE_SECONDS - 3))
    assert fake.total_calls == 1
