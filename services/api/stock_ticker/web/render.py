"""Build each `/ndays` body, and its ETag, once per (series snapshot, ndays); the warm path only
looks them up."""

from __future__ import annotations

import email.utils
import hashlib
from functools import lru_cache
from typing import NamedTuple

import orjson

from stock_ticker.domain import PriceSeries, average_close
from stock_ticker.web.schemas import NdaysResponseSchema

_SCHEMA = NdaysResponseSchema()


class Rendered(NamedTuple):
    body: bytes
    #: A strong validator: the same bytes always give the same tag, other bytes another.
    etag: str


@lru_cache(maxsize=1024)
def ndays_answer(series: PriceSeries, ndays: int, source: str) -> Rendered:
    """The JSON body for the newest `ndays` bars of `series`, and its ETag.

    Keyed by the series object itself (hashed by identity): a refresh makes a new series, so
    stale bodies are never served, and old ones age out of the bounded memo.
    """
    bars = series.latest(ndays)
    document = _SCHEMA.dump(
        {
            "symbol": series.symbol,
            "ndays": len(bars),
            "average_closing_price": average_close(bars),
            "daily_data": bars,
            "last_refreshed": series.last_refreshed,
            "source": source,
        }
    )
    body = orjson.dumps(document)
    return Rendered(body, f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"')


@lru_cache(maxsize=64)
def http_date(unix_seconds: int) -> str:
    """An IMF-fixdate (`Last-Modified`), made once per fetch time."""
    return email.utils.formatdate(unix_seconds, usegmt=True)
