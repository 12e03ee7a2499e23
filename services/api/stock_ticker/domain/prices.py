"""Daily bars, a symbol's series of them, and the average close over the newest N."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

_FOUR_PLACES = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class DailyBar:
    """One trading day. Prices stay `Decimal` so averages are exact before rounding."""

    date: dt.date
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int


@dataclass(frozen=True, slots=True, eq=False)
class PriceSeries:
    """A symbol's daily bars, newest first, each date once.

    Compared and hashed by identity (``eq=False``): a series is an immutable snapshot of one
    upstream answer, so the web layer can memoise what it renders from it cheaply.
    """

    symbol: str
    last_refreshed: dt.date
    bars: tuple[DailyBar, ...]
    #: The upstream's name for the exchange's time zone ("US/Eastern"), when it gave one.
    time_zone: str | None = None

    def __post_init__(self) -> None:
        if not self.bars:
            raise ValueError("a price series needs at least one bar")
        dates = [bar.date for bar in self.bars]
        if any(newer <= older for newer, older in itertools.pairwise(dates)):
            raise ValueError("bars must be newest first with each date once")

    @classmethod
    def from_unordered(
        cls,
        symbol: str,
        last_refreshed: dt.date,
        bars: Sequence[DailyBar],
        time_zone: str | None = None,
    ) -> PriceSeries:
        """Build a series from bars in any order (upstream key order means nothing)."""
        newest_first = tuple(sorted(bars, key=lambda b: b.date, reverse=True))
        return cls(symbol, last_refreshed, newest_first, time_zone)

    @property
    def newest(self) -> dt.date:
        """The date of the newest bar."""
        return self.bars[0].date

    def latest(self, ndays: int) -> tuple[DailyBar, ...]:
        """The newest `ndays` bars, or all of them when fewer are available."""
        return self.bars[:ndays]


def average_close(bars: Sequence[DailyBar]) -> Decimal:
    """Mean closing price, computed in decimal and rounded half-even to 4 places."""
    if not bars:
        raise ValueError("cannot average an empty list of bars")
    total = sum((bar.close for bar in bars), Decimal(0))
    return (total / len(bars)).quantize(_FOUR_PLACES, rounding=ROUND_HALF_EVEN)
