"""Build each `/ndays` body once per (series snapshot, ndays); the warm path only looks it up."""

from __future__ import annotations

from functools import lru_cache

import orjson

from stock_ticker.domain import PriceSeries, average_close
from stock_ticker.web.schemas import NdaysResponseSchema

_SCHEMA = NdaysResponseSchema()


@lru_cache(maxsize=1024)
def ndays_body(series: PriceSeries, ndays: int, source: str) -> bytes:
    """The JSON body for the newest `ndays` bars of `series`.

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
    return orjson.dumps(document)
