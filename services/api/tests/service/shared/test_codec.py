"""What the shared store holds: series entries, remembered unknown symbols and failures, as JSON
that comes back as what went in (in wall-clock time there, service-clock time here)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from stock_ticker.domain import DailyBar, PriceSeries
from stock_ticker.service import BudgetExhausted
from stock_ticker.service.ports import CachedSeries
from stock_ticker.service.shared.codec import (
    Clocks,
    decode_entry,
    decode_failure,
    encode_entry,
    encode_failure,
)
from stock_ticker.service.shared.tiered_store import EntrySerializer
from stock_ticker.upstream import (
    MalformedResponse,
    UnknownSymbol,
    UpstreamError,
    UpstreamRejected,
    UpstreamThrottled,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from tests.support.clock import FakeClock


def clocks(clock: FakeClock, offset: float = 1_764_000_000.0) -> Clocks:
    return Clocks(clock, lambda: clock.now + offset)


def entry() -> CachedSeries:
    bars = (
        DailyBar(
            dt.date(2026, 11, 27), Decimal("1.5"), Decimal("2"), Decimal("1"), Decimal("1.25"), 7
        ),
        DailyBar(
            dt.date(2026, 11, 26),
            Decimal("0.1"),
            Decimal("0.2"),
            Decimal("0.01"),
            Decimal("0.15"),
            0,
        ),
    )
    series = PriceSeries("BRK.B", dt.date(2026, 11, 27), bars, "US/Eastern")
    return CachedSeries(series, 1000.0, 4600.0, 1_764_001_000)


def test_every_field_of_an_entry_comes_back(clock: FakeClock) -> None:
    # Written by one replica, read by another whose clock counts from elsewhere.
    written = entry()
    raw = encode_entry(written, 87400.0, clocks(clock))
    other = FakeClock(start=50.0)
    read, expires = decode_entry(raw, clocks(other, offset=1_764_000_000.0 + 950.0))
    assert isinstance(read, CachedSeries)
    assert (read.fetched_at, read.fresh_until, expires) == (50.0, 3650.0, 86450.0)
    for field in dataclasses.fields(CachedSeries):  # a new field must be carried too
        if field.name not in ("series", "fetched_at", "fresh_until"):
            assert getattr(read, field.name) == getattr(written, field.name), field.name
    for field in dataclasses.fields(PriceSeries):
        assert getattr(read.series, field.name) == getattr(written.series, field.name), field.name


def test_a_remembered_unknown_symbol_comes_back_with_the_symbols_the_source_has(
    clock: FakeClock,
) -> None:
    read, expires = decode_entry(
        encode_entry(("AAPL", "MSFT"), 1300.0, clocks(clock)), clocks(clock)
    )
    assert (read, expires) == (("AAPL", "MSFT"), 1300.0)


@pytest.mark.parametrize(
    "raw",
    [
        b"\x80\x04pickle",
        b"[]",
        b'{"expires": 1}',
        b'{"expires": "x", "available": []}',
        b'{"expires": 1, "series": {"bars": []}, "fetched_at": 1, "fresh_until": 2, "modified": 3}',
    ],
)
def test_what_is_not_an_entry_of_ours_is_refused_and_reads_as_absent(
    raw: bytes, clock: FakeClock
) -> None:
    with pytest.raises(ValueError, match="not a stock-ticker entry"):
        decode_entry(raw, clocks(clock))
    serializer = EntrySerializer(clocks(clock))
    assert serializer.loads(raw) is None
    assert serializer.loads(None) is None


@pytest.mark.parametrize(
    "failure",
    [
        UpstreamTimeout("slow", retry_after=3.0),
        UpstreamUnavailable("refused", reached=False),
        UpstreamThrottled("daily limit", retry_after=60.0),
        UpstreamRejected("bad key"),
        MalformedResponse("html"),
        UnknownSymbol("Invalid API call", available=("AAPL", "MSFT")),
        UpstreamError("odd", transient=True),
        BudgetExhausted("spent", retry_after=12.5),
    ],
    ids=lambda f: type(f).__name__,
)
def test_a_failure_comes_back_as_its_type_with_everything_an_answer_needs(
    failure: UpstreamError | BudgetExhausted,
) -> None:
    again = decode_failure(encode_failure(failure))
    assert type(again) is type(failure)
    assert str(again) == str(failure)
    assert vars(again) == vars(failure)
    if isinstance(failure, UpstreamError):
        assert isinstance(again, UpstreamError)
        assert (again.transient, again.reached, again.retry_after) == (
            failure.transient,
            failure.reached,
            failure.retry_after,
        )


def test_a_failure_of_a_type_we_do_not_know_reads_as_unavailable() -> None:
    again = decode_failure(b'{"type": "SomethingNew", "attributes": {"detail": "new"}}')
    assert isinstance(again, UpstreamUnavailable)
    assert again.detail == "new"
    unreadable = decode_failure(b"not json")
    assert isinstance(unreadable, UpstreamUnavailable)
    assert "unreadable" in unreadable.detail
