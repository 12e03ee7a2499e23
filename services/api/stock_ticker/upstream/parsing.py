"""Turn an Alpha Vantage `TIME_SERIES_DAILY` JSON body into a `PriceSeries`, or classify it.

The upstream reports every error as HTTP 200 with a JSON body, and its wording has changed over
the years, so bodies are classified by key and by phrase, never by whole sentences. The throttle
phrases are checked before "premium", because the daily-limit text also advertises premium plans.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from stock_ticker.domain import DailyBar, PriceSeries
from stock_ticker.domain.errors import (
    MalformedResponse,
    UnknownSymbol,
    UpstreamRejected,
    UpstreamThrottled,
)

SERIES_KEY = "Time Series (Daily)"
META_KEY = "Meta Data"
_FIELDS = ("1. open", "2. high", "3. low", "4. close", "5. volume")
_THROTTLE_PHRASES = (
    "rate limit",
    "requests per day",
    "call frequency",
    "per second",
    "per minute",
    "sparingly",
)
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_BAD_KEY_PHRASES = ("apikey", "api key", "demo")
#: How long to hold off after a throttle: the upstream never says, and its burst window is short.
THROTTLE_RETRY_AFTER_SECONDS = 60.0


class _DuplicateKey(ValueError):
    pass


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def parse_daily_body(raw: bytes, symbol: str) -> PriceSeries:
    """Parse a raw body; raise the `UpstreamError` subclass that explains why it is not data."""
    try:
        body = json.loads(raw, object_pairs_hook=_reject_duplicates)
    except _DuplicateKey as exc:
        # Only a date is echoed: other upstream text can quote the request, API key included.
        key = str(exc)
        shown = f"the key {key}" if _ISO_DATE.fullmatch(key) else "a key"
        raise MalformedResponse(f"upstream repeated {shown} in its answer") from None
    except (ValueError, UnicodeDecodeError):
        raise MalformedResponse("upstream answered with something that is not JSON") from None
    if not isinstance(body, dict):
        raise MalformedResponse("upstream JSON is not an object")
    return parse_daily_document(body, symbol)


def parse_daily_document(body: Mapping[str, Any], symbol: str) -> PriceSeries:
    """Classify a decoded body and parse it when it is a series."""
    if SERIES_KEY not in body:
        raise classify_error(body)
    rows = body[SERIES_KEY]
    if not isinstance(rows, dict) or not rows:
        raise MalformedResponse("upstream series is empty")
    bars = [_parse_bar(day, row) for day, row in rows.items()]
    newest = max(bar.date for bar in bars)
    return PriceSeries.from_unordered(
        symbol, _last_refreshed(body, newest), bars, time_zone=_time_zone(body)
    )


def classify_error(body: Mapping[str, Any]) -> Exception:
    """Name the error a body without a series stands for."""
    text = " ".join(
        str(body.get(key, "")) for key in ("Error Message", "Information", "Note")
    ).lower()
    if "Error Message" in body:
        if any(phrase in text for phrase in _BAD_KEY_PHRASES):
            return UpstreamRejected("upstream rejected the API key")
        return UnknownSymbol("upstream does not know this symbol")
    if "Information" in body or "Note" in body:
        if any(phrase in text for phrase in _THROTTLE_PHRASES):
            return UpstreamThrottled(
                "upstream rate limit reached", retry_after=THROTTLE_RETRY_AFTER_SECONDS
            )
        if "premium" in text:
            return UpstreamRejected("upstream serves this only to premium keys")
        if any(phrase in text for phrase in _BAD_KEY_PHRASES):
            return UpstreamRejected("upstream rejected the API key")
        return MalformedResponse("upstream answered with a notice instead of data")
    return MalformedResponse(f"upstream answer has no {SERIES_KEY!r}")


def _parse_bar(day: Any, row: Any) -> DailyBar:
    try:
        date = dt.date.fromisoformat(day)
        open_, high, low, close, volume = (Decimal(row[field]) for field in _FIELDS)
    except (TypeError, ValueError, KeyError, InvalidOperation):
        raise MalformedResponse("upstream series has a row that does not parse") from None
    prices = (open_, high, low, close)
    if not all(p.is_finite() and p >= 0 for p in prices) or not (
        volume.is_finite() and volume >= 0 and volume == volume.to_integral_value()
    ):
        raise MalformedResponse("upstream series has a price or volume out of range")
    return DailyBar(date, open_, high, low, close, int(volume))


def _last_refreshed(body: Mapping[str, Any], newest: dt.date) -> dt.date:
    meta = body.get(META_KEY)
    value = meta.get("3. Last Refreshed") if isinstance(meta, dict) else None
    try:
        # The upstream may add a time of day ("2026-11-27 16:00:00"); the date is what counts.
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return newest


def _time_zone(body: Mapping[str, Any]) -> str | None:
    """The series' time zone as the upstream names it ("US/Eastern"), if it says."""
    meta = body.get(META_KEY)
    value = meta.get("5. Time Zone") if isinstance(meta, dict) else None
    return value.strip() if isinstance(value, str) and value.strip() else None
