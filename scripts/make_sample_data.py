#!/usr/bin/env python3
"""Regenerate the bundled sample series from real daily prices.

The service serves these files when no STOCKS_API_KEY is set, so `make run` works offline. They
hold the newest 100 trading days (2012-10-04 to 2013-03-01) of AAPL, FB, GOOG, IBM and MSFT: raw
(unadjusted, as traded) daily open, high, low, close and volume from Quandl WIKI Prices, which
Quandl declared public domain. The bokeh-sampledata package (BSD-3-Clause) ships them as
`bokeh_sampledata/_data/stocks.csv.gz` and records their source and terms in its `datasets.json`
(under the `.dist-info/licenses/licenses/` folder of an installed wheel).

Each file is in the exact Alpha Vantage TIME_SERIES_DAILY shape (prices as strings with 4
decimals, volume as an integer string), so it goes through the same parser as a live answer, and
its "1. Information" names the source and licence; `NOTICE.md`, written beside them and shipped
in the package data, says the same at length. Files for symbols the CSV no longer has are removed.

The package is a dependency of this script only, never of the service, and nothing of it is
imported: the CSV is read with gzip and csv. The script checks the package's version and the
file's SHA-256 against the pins below. To run it (from the repository root):

    python3 -m venv /tmp/sampledata
    /tmp/sampledata/bin/pip install bokeh-sampledata==2026.1
    /tmp/sampledata/bin/python scripts/make_sample_data.py

or without a venv:

    pip install --no-deps --target /tmp/sampledata bokeh-sampledata==2026.1
    python3 scripts/make_sample_data.py --csv /tmp/sampledata/bokeh_sampledata/_data/stocks.csv.gz

Usage: make_sample_data.py [--csv STOCKS_CSV_GZ] [OUTPUT_DIR]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gzip
import hashlib
import importlib.metadata
import importlib.util
import json
import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

PACKAGE = "bokeh-sampledata"
PACKAGE_VERSION = "2026.1"
#: SHA-256 of `stocks.csv.gz` in bokeh-sampledata 2026.1, as its datasets.json records it.
CSV_SHA256 = "5abadf99b2d394f920120a27de6f0df129859d71d4cfb0bf661bcc99446ab1fd"
#: As many as a live `outputsize=compact` answer.
TRADING_DAYS = 100
HEADER = ["Ticker", "Date", "Open", "High", "Low", "Close", "Volume", "Adj Close"]
SOURCE = "Quandl WIKI Prices"
LICENCE = "public domain"
INFORMATION = (
    "SAMPLE DATA, not live: real daily prices (raw, unadjusted) to {last} from "
    f"{SOURCE} ({LICENCE}), as shipped by {PACKAGE} {PACKAGE_VERSION}; see NOTICE.md. "
    "Set STOCKS_API_KEY for live Alpha Vantage data"
)
NOTICE_FILE = "NOTICE.md"
NOTICE = """\
# Bundled sample data: source and licence

Served when no `STOCKS_API_KEY` is set (answers say `"source": "sample"`). Real daily prices,
raw (unadjusted, as traded): the open, high, low, close and volume of each trading day.

| symbol | trading days | first | last |
| --- | --- | --- | --- |
{table}

- Source: {source}. Quandl declared the WIKI data public domain and permitted copying,
  distribution and inclusion in commercial or noncommercial products
  (https://web.archive.org/web/20150411011214/https://www.quandl.com/data/WIKI).
- Licence: {licence}.
- Taken from `bokeh_sampledata/_data/stocks.csv.gz` of the Python package {package} {version}
  (BSD-3-Clause, Copyright (c) Bokeh Contributors), whose datasets.json records the source,
  terms and attribution ("Quandl WIKI Prices. Archived copy supplied by marketneutral on
  Kaggle."). SHA-256 of the file: `{sha256}`.
- Converted by `scripts/make_sample_data.py`: the newest {days} trading days of each symbol,
  prices with 4 decimals, in the Alpha Vantage TIME_SERIES_DAILY JSON shape. GOOG is Google's
  class A share before its 2014 split (WIKI's GOOGL); FB is Meta Platforms before its 2022
  renaming.
- Supplied as is by the source, without a guarantee of accuracy.
"""
_SYMBOL = re.compile(r"[A-Z0-9.\-]{1,10}")
_FOUR_PLACES = Decimal("0.0001")


class BadInput(ValueError):
    """The CSV is not what this script converts."""


def main(argv: list[str] | None = None) -> int:
    default_out = Path(__file__).resolve().parents[1] / "services/api/stock_ticker/upstream/data"
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--csv", type=Path, help=f"stocks.csv.gz of {PACKAGE} {PACKAGE_VERSION} (default: found)"
    )
    parser.add_argument("out", nargs="?", type=Path, default=default_out, help="output folder")
    args = parser.parse_args(argv)
    try:
        source = args.csv or packaged_csv()
        check_pinned(source)
        for path, action in write_sample_files(source, args.out):
            print(f"{action} {path}")
    except BadInput as exc:
        print(f"make_sample_data: {exc}", file=sys.stderr)
        return 1
    return 0


def packaged_csv() -> Path:
    """`stocks.csv.gz` of the installed package, found without importing it."""
    try:
        version = importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise BadInput(f"{PACKAGE} is not installed: see this script's docstring") from None
    if version != PACKAGE_VERSION:
        raise BadInput(
            f"{PACKAGE} {version} is installed; this script is pinned to {PACKAGE_VERSION}"
        )
    spec = importlib.util.find_spec("bokeh_sampledata")  # finds; does not run the package
    if spec is None or not spec.submodule_search_locations:
        raise BadInput(f"{PACKAGE} is installed but its package folder is not found")
    return Path(next(iter(spec.submodule_search_locations))) / "_data" / "stocks.csv.gz"


def check_pinned(path: Path) -> None:
    """Refuse any file but the pinned release's: the bundled data must be reproducible."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != CSV_SHA256:
        raise BadInput(f"{path} is not the {PACKAGE} {PACKAGE_VERSION} file (SHA-256 {digest})")


def write_sample_files(source: Path, out: Path, days: int = TRADING_DAYS) -> list[tuple[Path, str]]:
    """Convert `source` into one JSON file per symbol in `out`, plus the notice; remove the files
    of symbols it no longer has. Returns what was written and removed, in order."""
    documents = convert(read_rows(source), days)
    out.mkdir(parents=True, exist_ok=True)
    done: list[tuple[Path, str]] = []
    for stale in sorted(out.glob("*.json")):
        if _SYMBOL.fullmatch(stale.stem) and stale.stem not in documents:
            stale.unlink()
            done.append((stale, "removed"))
    for symbol, document in documents.items():
        path = out / f"{symbol}.json"
        path.write_text(json.dumps(document, indent=1) + "\n")
        done.append((path, "wrote"))
    notice = out / NOTICE_FILE
    notice.write_text(notice_text(documents))
    done.append((notice, "wrote"))
    return done


def read_rows(source: Path) -> list[list[str]]:
    """The CSV's data rows, after checking its header."""
    with gzip.open(source, "rt", encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header != HEADER:
            raise BadInput(f"{source}: header {header} is not {HEADER}")
        return list(reader)


def convert(rows: Iterable[list[str]], days: int = TRADING_DAYS) -> dict[str, dict[str, Any]]:
    """Alpha Vantage TIME_SERIES_DAILY documents of the newest `days` rows of each ticker, by
    ticker, sorted; each series newest first."""
    by_symbol: defaultdict[str, dict[dt.date, dict[str, str]]] = defaultdict(dict)
    for line, row in enumerate(rows, start=2):
        if len(row) != len(HEADER):
            raise BadInput(f"line {line}: {len(row)} fields, expected {len(HEADER)}")
        symbol, date_text, open_, high, low, close, volume, _adjusted = row
        if not _SYMBOL.fullmatch(symbol):
            raise BadInput(f"line {line}: ticker {symbol!r} is not an upper-case symbol")
        try:
            date = dt.date.fromisoformat(date_text)
        except ValueError:
            raise BadInput(f"line {line}: date {date_text!r} is not YYYY-MM-DD") from None
        if date in by_symbol[symbol]:
            raise BadInput(f"line {line}: {symbol} has {date} twice")
        by_symbol[symbol][date] = {
            "1. open": _price(open_, line),
            "2. high": _price(high, line),
            "3. low": _price(low, line),
            "4. close": _price(close, line),
            "5. volume": _volume(volume, line),
        }
    if not by_symbol:
        raise BadInput("the CSV has no rows")
    return {symbol: document(symbol, by_symbol[symbol], days) for symbol in sorted(by_symbol)}


def document(symbol: str, rows: Mapping[dt.date, dict[str, str]], days: int) -> dict[str, Any]:
    newest = sorted(rows, reverse=True)[:days]
    last = newest[0].isoformat()
    return {
        "Meta Data": {
            "1. Information": INFORMATION.format(last=last),
            "2. Symbol": symbol,
            "3. Last Refreshed": last,
            "4. Output Size": "Compact",
            "5. Time Zone": "US/Eastern",
        },
        "Time Series (Daily)": {date.isoformat(): rows[date] for date in newest},
    }


def notice_text(documents: Mapping[str, Mapping[str, Any]]) -> str:
    table = []
    for symbol, doc in documents.items():
        dates = list(doc["Time Series (Daily)"])
        table.append(f"| {symbol} | {len(dates)} | {dates[-1]} | {dates[0]} |")
    return NOTICE.format(
        table="\n".join(table),
        source=SOURCE,
        licence=LICENCE,
        package=PACKAGE,
        version=PACKAGE_VERSION,
        sha256=CSV_SHA256,
        days=TRADING_DAYS,
    )


def _price(text: str, line: int) -> str:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise BadInput(f"line {line}: price {text!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise BadInput(f"line {line}: price {text!r} is out of range")
    return f"{value.quantize(_FOUR_PLACES, rounding=ROUND_HALF_EVEN):f}"


def _volume(text: str, line: int) -> str:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise BadInput(f"line {line}: volume {text!r} is not a number") from None
    if not value.is_finite() or value < 0 or value != value.to_integral_value():
        raise BadInput(f"line {line}: volume {text!r} is not a whole number of shares")
    return str(int(value))


if __name__ == "__main__":
    sys.exit(main())
