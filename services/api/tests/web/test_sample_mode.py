"""Sample mode (no STOCKS_API_KEY) through the real app: which symbols are served, and the 404."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from stock_ticker.app import create_app
from stock_ticker.config import Settings
from tests.conftest import ClientFactory, live_settings
from tests.support.fake_upstream import FakeAlphaVantage

BUNDLED = ("AAPL", "FB", "GOOG", "IBM", "MSFT")
UNKNOWN_TSLA = "the sample data has no TSLA; available: AAPL, FB, GOOG, IBM, MSFT"
README = Path(__file__).resolve().parents[4] / "README.md"


def readme_example(command: str) -> str:
    """The output the README shows for `command`, up to the end of its code block."""
    text = README.read_text()
    start = text.index(f"$ {command}\n") + len(command) + 3
    return text[start : text.index("```", start)]


async def test_every_bundled_symbol_is_served_without_allowed_symbols(
    make_client: ClientFactory,
) -> None:
    client = await make_client(Settings())
    for symbol in BUNDLED:
        response = await client.get(f"/ndays?symbol={symbol.lower()}&ndays=100")
        assert response.status == 200, await response.text()
        body = await response.json()
        assert (body["symbol"], body["source"], body["ndays"]) == (symbol, "sample", 100)
        assert body["last_refreshed"] == "2013-03-01"
        assert body["daily_data"][0]["date"] == "2013-03-01"
        assert body["daily_data"][-1]["date"] == "2012-10-04"


@pytest.mark.parametrize("symbol", ["TSLA", "tsla"])
async def test_an_unknown_symbol_is_a_404_that_lists_the_bundled_ones(
    make_client: ClientFactory, symbol: str
) -> None:
    client = await make_client(Settings())
    for _ in range(2):  # the second answer comes from the negative cache: the list stays
        response = await client.get(f"/ndays?symbol={symbol}")
        assert response.status == 404
        assert response.content_type == "application/problem+json"
        problem = await response.json()
        assert problem["type"] == "urn:stock-ticker:problem:unknown-symbol"
        assert problem["status"] == 404
        assert problem["detail"] == UNKNOWN_TSLA


async def test_allowed_symbols_named_explicitly_still_restrict(
    make_client: ClientFactory,
) -> None:
    client = await make_client(Settings(allowed_symbols=frozenset({"AAPL"})))
    assert (await client.get("/ndays?symbol=AAPL")).status == 200
    assert (await client.get("/ndays")).status == 200  # SYMBOL (MSFT) is always admitted
    for symbol in ("IBM", "GOOG", "FB"):
        response = await client.get(f"/ndays?symbol={symbol}")
        assert response.status == 403
        problem = await response.json()
        assert problem["type"] == "urn:stock-ticker:problem:symbol-not-allowed"


@pytest.mark.parametrize(
    "settings",
    [
        pytest.param(Settings(allow_any_symbol=True), id="wildcard"),
        pytest.param(Settings(allowed_symbols=frozenset({"FB", "TSLA"})), id="named"),
    ],
)
async def test_an_admitted_symbol_the_sample_lacks_is_a_404_that_lists_what_exists(
    make_client: ClientFactory, settings: Settings
) -> None:
    client = await make_client(settings)
    assert (await client.get("/ndays?symbol=FB")).status == 200
    response = await client.get("/ndays?symbol=TSLA")
    assert response.status == 404
    assert (await response.json())["detail"] == UNKNOWN_TSLA


async def test_a_default_symbol_that_is_not_bundled_is_admitted_and_answered_404(
    make_client: ClientFactory,
) -> None:
    client = await make_client(Settings(symbol="TSLA"))
    response = await client.get("/ndays")
    assert response.status == 404
    assert (await response.json())["detail"] == UNKNOWN_TSLA
    assert (await client.get("/ndays?symbol=IBM")).status == 200  # the bundled ones still are


async def test_with_a_key_only_symbol_and_allowed_symbols_are_served(
    make_client: ClientFactory, fake_upstream: tuple[FakeAlphaVantage, str]
) -> None:
    fake, host = fake_upstream
    client = await make_client(live_settings(host))
    assert (await client.get("/ndays?symbol=MSFT")).status == 200
    assert (await client.get("/ndays?symbol=AAPL")).status == 403  # quota: nothing by default
    assert fake.calls["AAPL"] == 0


async def test_a_live_unknown_symbol_names_no_list(
    make_client: ClientFactory, fake_upstream: tuple[FakeAlphaVantage, str]
) -> None:
    _, host = fake_upstream
    client = await make_client(live_settings(host, allow_any_symbol=True))
    response = await client.get("/ndays?symbol=ZZZZ")  # the fake answers "Invalid API call"
    assert response.status == 404
    assert (await response.json())["detail"] == "the upstream does not know ZZZZ"


def test_start_up_warns_which_symbols_the_sample_data_has(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="stock_ticker.app"):
        create_app(Settings())
    (record,) = [r for r in caplog.records if r.name == "stock_ticker.app"]
    assert record.levelno == logging.WARNING
    assert record.getMessage() == (
        "no STOCKS_API_KEY set: serving the bundled sample data (source=sample: real daily "
        "prices of AAPL, FB, GOOG, IBM, MSFT, ending 2013-03-01); set STOCKS_API_KEY to an "
        "Alpha Vantage key for live prices"
    )


async def test_the_readme_ndays_example_is_what_the_sample_data_answers(
    make_client: ClientFactory,
) -> None:
    shown = readme_example("curl -i 'localhost:8000/ndays?ndays=3'")
    body = json.loads("".join(shown[shown.index("{") :].split("\n")))
    client = await make_client(Settings())
    response = await client.get("/ndays?ndays=3")
    assert await response.json() == body
    assert shown.startswith("HTTP/1.1 200 OK\n")
    assert f"X-Cache: {response.headers['X-Cache']}\n" in shown
    assert f"Cache-Control: {response.headers['Cache-Control']}\n" in shown
    assert f"ETag: {response.headers['ETag']}\n" in shown  # the same bytes, the same tag
