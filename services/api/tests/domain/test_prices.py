"""DailyBar, PriceSeries invariants and the average close."""

from __future__ import annotations

import dataclasses
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

import pytest

from stock_ticker.domain import DailyBar, PriceSeries, average_close
from tests.support.builders import bar, day

FOUR = Decimal("0.0001")


def series(*bars: DailyBar) -> PriceSeries:
    return PriceSeries("MSFT", day("2026-11-27"), bars)


# --- DailyBar -------------------------------------------------------------------------------


def test_daily_bar_is_an_immutable_value() -> None:
    one = bar("2026-11-27", "423.4600", volume=18234000)
    same = bar("2026-11-27", "423.46", volume=18234000)  # Decimal equality ignores trailing zeros

    assert one == same
    assert hash(one) == hash(same)
    assert one != bar("2026-11-27", "423.47", volume=18234000)
    with pytest.raises(dataclasses.FrozenInstanceError):
        one.close = Decimal(1)  # type: ignore[misc]
    assert not hasattr(one, "__dict__")  # slots: no per-bar dict


# --- PriceSeries invariants -----------------------------------------------------------------


def test_series_keeps_bars_newest_first() -> None:
    bars = (bar("2026-11-27"), bar("2026-11-26"), bar("2026-11-24"))

    s = series(*bars)

    assert s.bars == bars
    assert s.symbol == "MSFT"
    assert s.last_refreshed == day("2026-11-27")


def test_series_of_one_bar_is_valid() -> None:
    assert len(series(bar("2026-11-27")).bars) == 1


def test_series_needs_at_least_one_bar() -> None:
    with pytest.raises(ValueError, match="at least one bar"):
        PriceSeries("MSFT", day("2026-11-27"), ())


@pytest.mark.parametrize(
    "dates",
    [
        pytest.param(("2026-11-26", "2026-11-27"), id="oldest-first"),
        pytest.param(("2026-11-27", "2026-11-25", "2026-11-26"), id="out-of-order-tail"),
        pytest.param(("2026-11-27", "2026-11-27"), id="duplicate-date"),
        pytest.param(("2026-11-27", "2026-11-26", "2026-11-26"), id="duplicate-at-end"),
    ],
)
def test_series_rejects_bars_not_strictly_newest_first(dates: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="newest first"):
        series(*(bar(d) for d in dates))


def test_series_is_frozen_and_compared_by_identity() -> None:
    a = series(bar("2026-11-27"))
    b = series(bar("2026-11-27"))

    assert a == a  # identity is the point
    assert a != b  # same content, different snapshots
    assert len({a, b}) == 2  # hashable (by identity), usable as a memo key
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.symbol = "AAPL"  # type: ignore[misc]


def test_from_unordered_sorts_newest_first() -> None:
    shuffled = [
        bar("2026-11-25", "3"),
        bar("2026-11-27", "1"),
        bar("2026-10-31", "5"),
        bar("2026-11-26", "2"),
        bar("2026-11-03", "4"),
    ]
    original = list(shuffled)

    s = PriceSeries.from_unordered("IBM", day("2026-11-27"), shuffled)

    assert [b.date.isoformat() for b in s.bars] == [
        "2026-11-27",
        "2026-11-26",
        "2026-11-25",
        "2026-11-03",
        "2026-10-31",
    ]
    assert [b.close for b in s.bars] == [Decimal(n) for n in "12345"]  # bars moved whole
    assert s.symbol == "IBM"
    assert isinstance(s.bars, tuple)
    assert shuffled == original  # the caller's list is left alone


def test_from_unordered_still_rejects_duplicate_dates() -> None:
    with pytest.raises(ValueError, match="each date once"):
        PriceSeries.from_unordered(
            "MSFT", day("2026-11-27"), [bar("2026-11-26"), bar("2026-11-27"), bar("2026-11-26")]
        )


def test_from_unordered_still_rejects_no_bars() -> None:
    with pytest.raises(ValueError, match="at least one bar"):
        PriceSeries.from_unordered("MSFT", day("2026-11-27"), [])


# --- latest(n) ------------------------------------------------------------------------------


@pytest.fixture
def five_days() -> PriceSeries:
    return series(*(bar(f"2026-11-{d}", str(d)) for d in (27, 26, 25, 24, 23)))


def test_latest_returns_the_newest_n(five_days: PriceSeries) -> None:
    newest_two = five_days.latest(2)

    assert [b.date.isoformat() for b in newest_two] == ["2026-11-27", "2026-11-26"]
    assert newest_two == five_days.bars[:2]


def test_latest_one_is_the_newest_bar(five_days: PriceSeries) -> None:
    assert five_days.latest(1) == (five_days.bars[0],)
    assert five_days.latest(1)[0].date == max(b.date for b in five_days.bars)


@pytest.mark.parametrize("n", [5, 6, 100])
def test_latest_returns_everything_when_fewer_are_available(five_days: PriceSeries, n: int) -> None:
    assert five_days.latest(n) == five_days.bars
    assert len(five_days.latest(n)) == 5


# --- average_close --------------------------------------------------------------------------


def closes(*values: str) -> list[DailyBar]:
    """Bars on consecutive days (newest first) with the given closes."""
    return [bar(f"2026-11-{27 - i:02d}", v) for i, v in enumerate(values)]


def test_average_is_exact_decimal_at_four_places() -> None:
    avg = average_close(closes("1", "2", "3", "4"))

    assert isinstance(avg, Decimal)
    assert avg == Decimal("2.5")
    assert str(avg) == "2.5000"  # always four places
    assert avg.as_tuple().exponent == -4


def test_average_is_computed_in_decimal_not_float() -> None:
    # 1.00005 is exactly half-way at 4 places in decimal (half-even keeps 1.0000); as a binary
    # float it is a hair above, so float arithmetic rounds it up, whatever Python's sum() does.
    bars = closes("1.00005", "1.00005")
    assert round(sum(float(b.close) for b in bars) / 2, 4) == 1.0001  # the trap exists

    assert str(average_close(bars)) == "1.0000"


def test_average_of_a_repeating_fraction_rounds_to_four_places() -> None:
    assert str(average_close(closes("1", "1", "2"))) == "1.3333"  # 4/3
    assert str(average_close(closes("1", "2", "2"))) == "1.6667"  # 5/3


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        # exact means ending in 5 at the fifth place: half-even picks the even fourth digit
        pytest.param(("1.0000", "1.0001"), "1.0000", id="1.00005-down-to-even"),
        pytest.param(("1.0003", "1.0000"), "1.0002", id="1.00015-up-to-even"),
        pytest.param(("1.0002", "1.0003"), "1.0002", id="1.00025-down-to-even"),
        pytest.param(("423.4601", "423.4600"), "423.4600", id="423.46005"),
        pytest.param(("2.00005",), "2.0000", id="single-bar-2.00005"),
        pytest.param(("1000000000.00015",), "1000000000.0002", id="large-value"),
    ],
)
def test_average_rounds_half_even(values: tuple[str, ...], expected: str) -> None:
    exact = sum((Decimal(v) for v in values), Decimal(0)) / len(values)
    # Each case is a tie at the fifth place, where half-even disagrees with half-up or with
    # plain truncation; so a wrong rounding mode fails at least one case.
    assert exact.quantize(FOUR, rounding=ROUND_HALF_UP) != Decimal(expected) or (
        exact.quantize(FOUR, rounding=ROUND_DOWN) != Decimal(expected)
    )

    avg = average_close(closes(*values))

    assert str(avg) == expected


def test_average_just_past_the_tie_rounds_to_nearest() -> None:
    # 1.000051 is above the tie: nearest wins, whatever the tie-breaking rule.
    assert str(average_close(closes("1.000051"))) == "1.0001"
    assert str(average_close(closes("1.000049"))) == "1.0000"


def test_average_of_a_series_slice() -> None:
    s = series(*closes("10", "20", "30", "1000"))

    assert average_close(s.latest(3)) == Decimal(20)
    assert average_close(s.latest(100)) == Decimal("265")


@pytest.mark.parametrize("empty", [[], ()], ids=["list", "tuple"])
def test_average_of_nothing_raises(empty: list[DailyBar] | tuple[DailyBar, ...]) -> None:
    with pytest.raises(ValueError, match="empty"):
        average_close(empty)
