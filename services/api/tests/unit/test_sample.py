"""SampleProvider: the bundled data, parsed by the same parser as live answers."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from stock_ticker.config import SYMBOL_PATTERN, Settings
from stock_ticker.upstream import sample
from stock_ticker.upstream.errors import MalformedResponse, UnknownSymbol
from stock_ticker.upstream.sample import SampleProvider, sample_symbols
from tests.unit.builders import daily_doc, encode, row

DATA_DIR = resources.files("stock_ticker.upstream") / "data"
BUNDLED = sorted(
    entry.name[: -len(".json")] for entry in DATA_DIR.iterdir() if entry.name.endswith(".json")
)


def test_sample_symbols_are_the_bundled_files() -> None:
    assert sample_symbols() == frozenset(BUNDLED)
    assert len(BUNDLED) >= 1


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
    assert len(series.bars) >= 100  # as many as a live compact answer
    dates = [b.date for b in series.bars]
    assert dates == sorted(dates, reverse=True)
    assert series.last_refreshed == dates[0]
    raw = json.loads((DATA_DIR / f"{symbol}.json").read_text())
    assert len(series.bars) == len(raw["Time Series (Daily)"])
    newest = raw["Time Series (Daily)"][dates[0].isoformat()]
    assert str(series.bars[0].close) == newest["4. close"]


@pytest.mark.parametrize("symbol", ["ZZZZ", "msft", "", "MSFT.json", "../MSFT"])
async def test_unknown_symbol(symbol: str) -> None:
    with pytest.raises(UnknownSymbol) as info:
        await SampleProvider().fetch_daily_series(symbol, timeout=1.0)

    assert "sample" in info.value.detail


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
