"""scripts/make_sample_data.py: bokeh-sampledata's stocks.csv.gz into the upstream's JSON shape.

The conversion runs on tiny gzip CSVs written here, never on the real package: the bundled files
it produced are checked on their own in test_sample.py.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import importlib.util
import io
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from stock_ticker.upstream.parsing import parse_daily_body

SCRIPT = Path(__file__).resolve().parents[4] / "scripts" / "make_sample_data.py"
HEADER = ["Ticker", "Date", "Open", "High", "Low", "Close", "Volume", "Adj Close"]


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_sample_data", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


script = load_script()


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    with gzip.open(path, "wt", encoding="utf-8", newline="") as f:
        f.write(text.getvalue())
    return path


def row(
    ticker: str, date: str, price: str = "10.5", volume: str = "1000", adjusted: str = "1.25"
) -> list[str]:
    return [ticker, date, price, price, price, price, volume, adjusted]


#: Out of order, as a merge of sources could leave them; AAA has more rows than are kept.
ROWS = [
    ["AAA", "2013-02-27", "1.23455", "2.5", "1", "1.23465", "1200", "0.5"],
    row("AAA", "2013-02-25", "9"),
    ["AAA", "2013-03-01", "100", "101.99999", "99.00001", "100.5", "1000.0", "0.5"],
    row("AAA", "2013-02-28", "7"),
    row("AAA", "2013-02-26", "8"),
    row("BB.B", "2013-02-28", "3.1"),
]


@pytest.fixture
def stocks(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "stocks.csv.gz", ROWS)


def test_newest_days_of_each_ticker_in_the_upstream_shape(stocks: Path, tmp_path: Path) -> None:
    out = tmp_path / "data"
    script.write_sample_files(stocks, out, days=3)

    doc = json.loads((out / "AAA.json").read_text())
    meta = doc["Meta Data"]
    assert list(meta) == [
        "1. Information",
        "2. Symbol",
        "3. Last Refreshed",
        "4. Output Size",
        "5. Time Zone",
    ]
    assert meta["2. Symbol"] == "AAA"
    assert meta["3. Last Refreshed"] == "2013-03-01"
    assert meta["4. Output Size"] == "Compact"
    assert meta["5. Time Zone"] == "US/Eastern"
    info = meta["1. Information"]
    assert "to 2013-03-01" in info
    assert "Quandl WIKI Prices (public domain)" in info
    assert "bokeh-sampledata 2026.1" in info
    rows = doc["Time Series (Daily)"]
    assert list(rows) == ["2013-03-01", "2013-02-28", "2013-02-27"]  # newest 3, newest first
    assert rows["2013-03-01"] == {
        "1. open": "100.0000",
        "2. high": "102.0000",
        "3. low": "99.0000",
        "4. close": "100.5000",
        "5. volume": "1000",  # "1000.0" is a whole number of shares
    }
    # 4 places, half-even as the service rounds: 1.23455 -> 1.2346, 1.23465 -> 1.2346.
    assert rows["2013-02-27"]["1. open"] == "1.2346"
    assert rows["2013-02-27"]["4. close"] == "1.2346"
    assert rows["2013-02-27"]["5. volume"] == "1200"
    assert "Adj Close" not in json.dumps(doc)  # the raw prices, not the adjusted close
    assert (out / "BB.B.json").is_file()


def test_what_it_writes_goes_through_the_live_parser(stocks: Path, tmp_path: Path) -> None:
    out = tmp_path / "data"
    script.write_sample_files(stocks, out, days=3)

    series = parse_daily_body((out / "AAA.json").read_bytes(), "AAA")
    assert [b.date.isoformat() for b in series.bars] == ["2013-03-01", "2013-02-28", "2013-02-27"]
    assert series.bars[0].high == 102
    assert series.bars[0].volume == 1000
    short = parse_daily_body((out / "BB.B.json").read_bytes(), "BB.B")
    assert len(short.bars) == 1  # fewer rows than kept: all of them


def test_regenerating_removes_symbols_gone_and_keeps_other_files(
    stocks: Path, tmp_path: Path
) -> None:
    out = tmp_path / "data"
    out.mkdir()
    (out / "TSLA.json").write_text("{}")  # a symbol the CSV does not have (any more)
    (out / "notes.json").write_text("{}")  # not a symbol's file: left alone
    done = script.write_sample_files(stocks, out, days=3)

    assert not (out / "TSLA.json").exists()
    assert (out / "notes.json").exists()
    assert sorted(p.name for p in out.iterdir()) == [
        "AAA.json",
        "BB.B.json",
        "NOTICE.md",
        "notes.json",
    ]
    assert done == [
        (out / "TSLA.json", "removed"),
        (out / "AAA.json", "wrote"),
        (out / "BB.B.json", "wrote"),
        (out / "NOTICE.md", "wrote"),
    ]


def test_the_notice_states_source_licence_and_each_series(stocks: Path, tmp_path: Path) -> None:
    out = tmp_path / "data"
    script.write_sample_files(stocks, out, days=3)

    notice = (out / "NOTICE.md").read_text()
    assert "| AAA | 3 | 2013-02-27 | 2013-03-01 |" in notice
    assert "| BB.B | 1 | 2013-02-28 | 2013-02-28 |" in notice
    assert "Source: Quandl WIKI Prices" in notice
    assert "Licence: public domain" in notice
    assert script.CSV_SHA256 in notice


def test_default_keeps_100_days_like_a_compact_answer(tmp_path: Path) -> None:
    import datetime as dt

    first = dt.date(2012, 1, 2)
    many = [row("AAA", (first + dt.timedelta(days=i)).isoformat()) for i in range(130)]
    docs = script.convert(many)

    rows = docs["AAA"]["Time Series (Daily)"]
    assert len(rows) == 100
    assert next(iter(rows)) == (first + dt.timedelta(days=129)).isoformat()


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        pytest.param([row("AAA", "2013-03-01"), row("AAA", "2013-03-01")], "twice", id="dup-date"),
        pytest.param([row("AAA", "2013-03-01", price="n/a")], "not a number", id="price"),
        pytest.param([row("AAA", "2013-03-01", price="-1")], "out of range", id="negative"),
        pytest.param([row("AAA", "2013-03-01", price="NaN")], "out of range", id="nan"),
        pytest.param([row("AAA", "2013-03-01", volume="10.5")], "whole number", id="volume"),
        pytest.param([row("AAA", "2013-03-01", volume="x")], "not a number", id="volume-text"),
        pytest.param([row("aaa", "2013-03-01")], "upper-case symbol", id="lower-ticker"),
        pytest.param([row("../X", "2013-03-01")], "upper-case symbol", id="path-ticker"),
        pytest.param([row("AAA", "01/03/2013")], "YYYY-MM-DD", id="date"),
        pytest.param([["AAA", "2013-03-01", "1"]], "3 fields", id="short-row"),
        pytest.param([], "no rows", id="empty"),
    ],
)
def test_refuses_what_it_cannot_convert_faithfully(
    tmp_path: Path, rows: list[list[str]], message: str
) -> None:
    source = write_csv(tmp_path / "stocks.csv.gz", rows)
    with pytest.raises(script.BadInput, match=message):
        script.write_sample_files(source, tmp_path / "data")
    assert not (tmp_path / "data").exists()  # nothing half-written


def test_refuses_another_header(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "stocks.csv.gz", [row("AAA", "2013-03-01")], HEADER[:-1])
    with pytest.raises(script.BadInput, match="header"):
        script.read_rows(source)


def test_only_the_pinned_file_is_converted(
    stocks: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "data"
    assert script.main(["--csv", str(stocks), str(out)]) == 1
    assert "is not the bokeh-sampledata 2026.1 file" in capsys.readouterr().err
    assert not out.exists()

    monkeypatch.setattr(script, "CSV_SHA256", hashlib.sha256(stocks.read_bytes()).hexdigest())
    assert script.main(["--csv", str(stocks), str(out)]) == 0
    assert f"wrote {out / 'AAA.json'}" in capsys.readouterr().out


def fake_install(site: Path, version: str) -> Path:
    """An installed bokeh-sampledata in `site`: metadata, and a package that fails if imported."""
    package = site / "bokeh_sampledata"
    (package / "_data").mkdir(parents=True)
    (package / "__init__.py").write_text("raise ImportError('the script must not import me')\n")
    info = site / f"bokeh_sampledata-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.4\nName: bokeh_sampledata\nVersion: {version}\n"
    )
    return package / "_data" / "stocks.csv.gz"


def test_finds_the_installed_package_file_without_importing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = fake_install(tmp_path, "2026.1")
    monkeypatch.syspath_prepend(str(tmp_path))

    assert script.packaged_csv() == expected
    assert "bokeh_sampledata" not in sys.modules


def test_refuses_another_version_of_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_install(tmp_path, "2025.2")
    monkeypatch.syspath_prepend(str(tmp_path))

    with pytest.raises(script.BadInput, match=r"bokeh-sampledata 2025\.2 is installed"):
        script.packaged_csv()


def test_says_how_to_install_the_package_when_it_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "path", [str(tmp_path)])  # nothing installed there

    assert script.main([str(tmp_path / "data")]) == 1
    assert "bokeh-sampledata is not installed" in capsys.readouterr().err
