"""What the shared store holds, as JSON: cached series, remembered unknown symbols, failures.

JSON rather than pickle: whoever can write to the store must not be able to run code in the
service. Times in the store are wall-clock (Unix) seconds, so replicas agree on them; in process
memory they are on the service's monotonic clock, and `Clocks` converts between the two.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from stock_ticker.domain import DailyBar, PriceSeries
from stock_ticker.service.errors import BudgetExhausted
from stock_ticker.service.ports import CachedSeries, Failure
from stock_ticker.upstream import (
    MalformedResponse,
    UnknownSymbol,
    UpstreamError,
    UpstreamRejected,
    UpstreamThrottled,
    UpstreamTimeout,
    UpstreamUnavailable,
)

#: Failure types a stored cause may name; anything else reads as `UpstreamUnavailable`.
_FAILURES: dict[str, type[Failure]] = {
    cls.__name__: cls
    for cls in (
        UpstreamError,
        UnknownSymbol,
        UpstreamThrottled,
        UpstreamRejected,
        MalformedResponse,
        UpstreamUnavailable,
        UpstreamTimeout,
        BudgetExhausted,
    )
}


@dataclass(frozen=True, slots=True)
class Clocks:
    """The service's clock and the wall clock, to move a time point from one to the other."""

    service: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time

    def to_wall(self, at: float) -> float:
        return at + self.wall() - self.service()

    def to_service(self, at: float) -> float:
        return at + self.service() - self.wall()


#: What the store holds under a key: a series, or (negative cache) the symbols the source has.
Entry = CachedSeries | tuple[str, ...]


def encode_entry(value: Entry, expires: float, clocks: Clocks) -> bytes:
    """A store entry (`expires`: when it goes, service clock) as JSON."""
    payload: dict[str, Any] = {"expires": clocks.to_wall(expires)}
    if isinstance(value, CachedSeries):
        payload.update(
            series=_encode_series(value.series),
            fetched_at=clocks.to_wall(value.fetched_at),
            fresh_until=clocks.to_wall(value.fresh_until),
            modified=value.modified,
        )
    else:
        payload["available"] = list(value)
    return orjson.dumps(payload)


def decode_entry(raw: bytes, clocks: Clocks) -> tuple[Entry, float]:
    """An entry and when it goes (service clock); `ValueError` if it is not one of ours."""
    try:
        payload = orjson.loads(raw)
        expires = clocks.to_service(float(payload["expires"]))
        if "available" in payload:
            return tuple(str(s) for s in payload["available"]), expires
        entry = CachedSeries(
            _decode_series(payload["series"]),
            clocks.to_service(float(payload["fetched_at"])),
            clocks.to_service(float(payload["fresh_until"])),
            int(payload["modified"]),
        )
    except (ValueError, KeyError, TypeError, ArithmeticError) as exc:  # JSON, dates, numbers
        raise ValueError(f"not a stock-ticker entry: {exc!r}") from exc
    return entry, expires


def encode_failure(cause: Failure) -> bytes:
    """A refresh's failure, with every attribute a client's answer is built from."""
    attributes = {
        key: list(value) if isinstance(value, tuple) else value
        for key, value in vars(cause).items()
    }
    return orjson.dumps({"type": type(cause).__name__, "attributes": attributes})


def decode_failure(raw: bytes) -> Failure:
    """The failure again, as the type it was raised as (an unknown type: unavailable)."""
    try:
        payload = orjson.loads(raw)
        attributes = dict(payload["attributes"])
        cls = _FAILURES.get(str(payload["type"]))
        detail = str(attributes["detail"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return UpstreamUnavailable("an unreadable failure was shared by another replica")
    if cls is None:
        return UpstreamUnavailable(detail)
    cause = cls.__new__(cls)
    cause.args = (detail,)
    vars(cause).update({k: tuple(v) if isinstance(v, list) else v for k, v in attributes.items()})
    return cause


def _encode_series(series: PriceSeries) -> dict[str, Any]:
    return {
        "symbol": series.symbol,
        "last_refreshed": series.last_refreshed.isoformat(),
        "time_zone": series.time_zone,
        "bars": [
            [b.date.isoformat(), str(b.open), str(b.high), str(b.low), str(b.close), b.volume]
            for b in series.bars
        ],
    }


def _decode_series(data: dict[str, Any]) -> PriceSeries:
    bars = tuple(
        DailyBar(
            dt.date.fromisoformat(day),
            Decimal(o),
            Decimal(h),
            Decimal(low),
            Decimal(c),
            int(volume),
        )
        for day, o, h, low, c, volume in data["bars"]
    )
    return PriceSeries(
        data["symbol"], dt.date.fromisoformat(data["last_refreshed"]), bars, data["time_zone"]
    )
