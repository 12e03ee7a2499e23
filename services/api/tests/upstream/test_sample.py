"""SampleProvider and the bundled data: real prices, parsed by the same parser as live answers."""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from stock_ticker.config import Settings
from stock_ticker.domain import SYMBOL_PATTERN
from stock_ticker.domain.errors import MalformedResponse, UnknownSymbol
from stock_ticker.upstream import sample
from stock_ticker.upstream.sample import SampleProvider, sample_symbols
from tests.support.builders import daily_doc, encode, row

DATA_DIR = resources.files("stock_ticker.upstream") / "data"
BUNDLED = sorted(
    entry.name[: -len(".json")] for entry in DATA_DIR.iterdir() if entry.name.endswith(".json")
)
#: What the README promises: the five series of bokeh-sampledata's stocks.csv.gz.
EXPECTED = ("AAPL", "FB", "GOOG", "IBM", "MSFT")
LAST_DAY = "2013-03-01"
#: Weekdays the NYSE was closed within the bundled window (2012-10-04 to 2013-03-01): holidays,
#: and Hurricane Sandy. A synthetic calendar would have bars on them.
MARKET_CLOSED = {
    "2012-10-29",
    "2012-10-30",
    "2012-11-22",
    "2012-12-25",
    "2013-01-01",
    "2013-01-21",
    "2013-02-18",
}
PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def raw_document(symbol: str) -> dict[str, Any]:
    """The file as JSON, refusing a repeated key (a repeated date would hide in a plain dict)."""

    def no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in pairs]
        assert len(keys) == len(set(keys)), f"{symbol}: a key is repeated"
        return dict(pairs)

    doc: dict[str, Any] = json.loads(
        (DATA_DIR / f"{symbol}.json").read_text(), object_pairs_hook=no_repeats
    )
    return doc


def test_sample_symbols_are_the_bundled_files() -> None:
    assert sample_symbols() == frozenset(BUNDLED)
    assert tuple(BUNDLED) == EXPECTED


def test_sample_symbols_are_well_formed_upper_case_symbols() -> None:
    for symbol in sample_symbols():
        assert SYMBOL_PATTERN.fullmatch(symbol)
        assert symbol == symbol.upper()


def test_the_default_symbol_works_offline() -> None:
    assert Settings().symbol in sample_symbols()


def test_provider_identity() -> None:
    provider = SampleProvider()

    assert provider.name == "sample"
    assert provider.metered is False  # never spends upstream quota
    assert SampleProvider.name == "sample"
    assert SampleProvider.metered is False


@pytest.mark.parametrize("symbol", BUNDLED)
async def test_every_bundled_symbol_parses(symbol: str) -> None:
    series = await SampleProvider().fetch_daily_series(symbol, timeout=0.001)

    assert series.symbol == symbol
    assert len(series.bars) == 100  # as many as a live compact answer, FB included
    dates = [b.date for b in series.bars]
    assert dates == sorted(dates, reverse=True)
    assert series.last_refreshed == dates[0] == dt.date.fromisoformat(LAST_DAY)
    raw = raw_document(symbol)
    assert len(series.bars) == len(raw["Time Series (Daily)"])
    newest = raw["Time Series (Daily)"][dates[0].isoformat()]
    assert str(series.bars[0].close) == newest["4. close"]


@pytest.mark.parametrize("symbol", BUNDLED)
def test_every_bundled_file_is_100_real_trading_days_to_2013_03_01(symbol: str) -> None:
    rows = raw_document(symbol)["Time Series (Daily)"]
    dates = list(rows)

    assert len(dates) == len(set(dates)) == 100
    assert dates == sorted(dates, reverse=True)  # newest first, as the upstream writes them
    assert (dates[0], dates[-1]) == (LAST_DAY, "2012-10-04")
    assert all(dt.date.fromisoformat(d).weekday() < 5 for d in dates)
    assert not MARKET_CLOSED & set(dates)
    for day in rows.values():
        assert list(day) == ["1. open", "2. high", "3. low", "4. close", "5. volume"]
        prices = [day[key] for key in ("1. open", "2. high", "3. low", "4. close")]
        assert all(re.fullmatch(r"[0-9]+\.[0-9]{4}", p) for p in prices), day
        assert re.fullmatch(r"[1-9][0-9]*", day["5. volume"]), day
        open_, high, low, close = (float(p) for p in prices)
        assert low <= min(open_, close) <= max(open_, close) <= high, day


@pytest.mark.parametrize("symbol", BUNDLED)
def test_every_bundled_file_carries_its_source_and_licence(symbol: str) -> None:
    meta = raw_document(symbol)["Meta Data"]

    assert meta["2. Symbol"] == symbol
    assert meta["3. Last Refreshed"] == LAST_DAY
    assert meta["4. Output Size"] == "Compact"
    assert meta["5. Time Zone"] == "US/Eastern"
    info = meta["1. Information"]
    for words in ("SAMPLE DATA", "real daily prices", "Quandl WIKI Prices", "public domain"):
        assert words in info
    assert "bokeh-sampledata 2026.1" in info
    assert "NOTICE.md" in info


def test_the_notice_names_source_licence_and_every_series() -> None:
    notice = (DATA_DIR / "NOTICE.md").read_text()

    for words in ("Quandl WIKI Prices", "Licence: public domain", "bokeh-sampledata 2026.1"):
        assert words in notice
    for symbol in EXPECTED:
        assert f"| {symbol} | 100 | 2012-10-04 | {LAST_DAY} |" in notice


def test_the_package_data_ships_every_bundled_file() -> None:
    """A file in data/ that no package-data pattern names would be missing from the wheel."""
    patterns = tomllib.loads(PYPROJECT.read_text())["tool"]["setuptools"]["package-data"]
    shipped = patterns["stock_ticker"]
    files = [f"upstream/data/{entry.name}" for entry in DATA_DIR.iterdir() if entry.is_file()]

    assert "upstream/data/NOTICE.md" in files
    for name in files:
        assert any(fnmatch.fnmatch(name, pattern) for pattern in shipped), name


@pytest.mark.parametrize("symbol", ["ZZZZ", "TSLA", "msft", "", "MSFT.json", "../MSFT", "NOTICE"])
async def test_unknown_symbol_names_the_bundled_ones(symbol: str) -> None:
    with pytest.raises(UnknownSymbol) as info:
        await SampleProvider().fetch_daily_series(symbol, timeout=1.0)

    assert "sample" in info.value.detail
    assert info.value.available == EXPECTED


def test_only_json_files_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "AAA.json").write_bytes(encode(daily_doc({"2026-11-27": row()})))
    (tmp_path / "BBB.json").write_text("{}")
    (tmp_path / "README.md").write_text("not data")
    (tmp_path / "CCC.json.bak").write_text("{}")
    monkeypatch.setattr(sample, "_DATA", tmp_path)

    assert sample_symbols() == frozenset({"AAA", "BBB"})


async def test_bundled_files_go_through_the_live_parser(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "AAA.json").write_bytes(encode(daily_doc({"2026-11-27": row("12.5000")})))
    (tmp_path / "BAD.json").write_text("<html>")
    monkeypatch.setattr(sample, "_DATA", tmp_path)
    provider = SampleProvider()

    assert (await provider.fetch_daily_series("AAA", timeout=1.0)).bars[0].close == 12.5
    with pytest.raises(MalformedResponse):
        await provider.fetch_daily_series("BAD", timeout=1.0)
