"""The NYSE trading calendar: when the session of a day closes, and which session comes next.

`holidays` has the exchange's closures and its early closes (the `half_day` category); the
close times themselves are only in the holidays' names, so they are fixed here: 16:00
America/New_York, 13:00 on an early-close day. Weekends have no session.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

NEW_YORK = ZoneInfo("America/New_York")
REGULAR_CLOSE = dt.time(16, 0)
EARLY_CLOSE = dt.time(13, 0)
#: The time zone the upstream names for series of US exchanges.
US_EASTERN = "US/Eastern"


@lru_cache(maxsize=16)
def _calendar(year: int) -> tuple[holidays.HolidayBase, holidays.HolidayBase]:
    closed = holidays.financial_holidays("NYSE", years=year)
    early = holidays.financial_holidays("NYSE", years=year, categories=("half_day",))
    return closed, early


def session_close(day: dt.date) -> dt.datetime | None:
    """When the NYSE session of `day` closes (aware, New York time); None without a session."""
    closed, early = _calendar(day.year)
    if day.weekday() >= 5 or day in closed:
        return None
    return dt.datetime.combine(day, EARLY_CLOSE if day in early else REGULAR_CLOSE, NEW_YORK)


def next_close_after(day: dt.date) -> dt.datetime:
    """The close of the first session after `day` (there is one within two weeks, always)."""
    for ahead in range(1, 15):
        close = session_close(day + dt.timedelta(days=ahead))
        if close is not None:
            return close
    raise ValueError(f"no NYSE session in the two weeks after {day}")  # never seen in history
