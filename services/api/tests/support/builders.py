"""The one place that builds upstream documents: bars, rows, `TIME_SERIES_DAILY` documents and
the bundled sample files as the live API would send them, for every test and the fake upstream."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from importlib import resources
from typing import Any

from stock_ticker.domain import DailyBar

#: The bundled sample files (real prices), in the upstream's own shape.
SAMPLE_DIR = resources.files("stock_ticker.upstream") / "data"
LIVE_INFORMATION = "Daily Prices (open, high, low, close) and Volumes"
FIELDS = ("1. open", "2. high", "3. low", "4. close", "5. volume")


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def bar(date: str, close: str = "100", *, volume: int = 1000) -> DailyBar:
    """A bar whose open/high/low equal its close (the tests here only look at dates and closes)."""
    price = Decimal(close)
    return DailyBar(day(date), price, price, price, price, volume)


def row(
    close: str = "100.0000",
    *,
    open_: str | None = None,
    high: str | None = None,
    low: str | None = None,
    volume: str = "1000",
) -> dict[str, str]:
    """One upstream row; every number a string, as Alpha Vantage sends them."""
    return {
        "1. open": open_ if open_ is not None else close,
        "2. high": high if high is not None else close,
        "3. low": low if low is not None else close,
        "4. close": close,
        "5. volume": volume,
    }


def meta(symbol: str = "MSFT", last_refreshed: object = "2026-11-27") -> dict[str, Any]:
    return {
        "1. Information": LIVE_INFORMATION,
        "2. Symbol": symbol,
        "3. Last Refreshed": last_refreshed,
        "4. Output Size": "Compact",
        "5. Time Zone": "US/Eastern",
    }


def daily_doc(rows: Mapping[str, object], *, meta_data: object = None) -> dict[str, Any]:
    """A `TIME_SERIES_DAILY` success document; `meta_data` defaults to a normal block."""
    return {
        "Meta Data": meta() if meta_data is None else meta_data,
        "Time Series (Daily)": dict(rows),
    }


def encode(doc: object) -> bytes:
    return json.dumps(doc).encode()


def brief_meta(symbol: str, last_refreshed: str = "2026-11-27") -> dict[str, Any]:
    """A `Meta Data` block with only what the service reads."""
    return {"2. Symbol": symbol, "3. Last Refreshed": last_refreshed}


def series_body(symbol: str, closes: Sequence[str], last: str = "2026-11-27") -> dict[str, Any]:
    """A small series with the given closes, newest first, on consecutive days before `last`."""
    newest = day(last)
    rows = {(newest - dt.timedelta(days=i)).isoformat(): row(c) for i, c in enumerate(closes)}
    return daily_doc(rows, meta_data=brief_meta(symbol, last))


def sample_body(symbol: str = "MSFT") -> dict[str, Any]:
    """The bundled sample document for `symbol`, relabelled as if it came from the live API."""
    doc: dict[str, Any] = json.loads((SAMPLE_DIR / f"{symbol}.json").read_text())
    doc["Meta Data"]["1. Information"] = LIVE_INFORMATION
    return doc
