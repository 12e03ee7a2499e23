"""The NYSE calendar: sessions, early closes, holidays and weekends."""

from __future__ import annotations

import datetime as dt
import importlib.util
import subprocess
import sys

import holidays
import pytest

from stock_ticker.domain import market
from stock_ticker.domain.market import NEW_YORK, next_close_after, session_close


def ny(day: str, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour, minute), NEW_YORK)


@pytest.mark.parametrize(
    ("day", "close"),
    [
        ("2026-11-30", ny("2026-11-30", 16)),  # a Monday
        ("2026-11-27", ny("2026-11-27", 13)),  # the day after Thanksgiving closes early
        ("2026-12-24", ny("2026-12-24", 13)),  # Christmas Eve too
        ("2026-11-26", None),  # Thanksgiving
        ("2026-12-25", None),  # Christmas
        ("2026-12-05", None),  # a Saturday
        ("2026-12-06", None),  # a Sunday
        ("2012-10-29", None),  # Hurricane Sandy: a special closure
    ],
)
def test_session_close(day: str, close: dt.datetime | None) -> None:
    assert session_close(dt.date.fromisoformat(day)) == close


@pytest.mark.parametrize(
    ("after", "close"),
    [
        ("2026-12-04", ny("2026-12-07", 16)),  # Friday -> Monday
        ("2026-11-30", ny("2026-12-01", 16)),  # Monday -> Tuesday
        ("2026-11-25", ny("2026-11-27", 13)),  # Wednesday -> (Thanksgiving) -> Friday, early
        ("2026-12-31", ny("2027-01-04", 16)),  # New Year's Eve -> (New Year, weekend) -> Monday
    ],
)
def test_next_close_after(after: str, close: dt.datetime) -> None:
    assert next_close_after(dt.date.fromisoformat(after)) == close


def test_a_calendar_without_sessions_is_an_error_not_a_hang(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(market, "session_close", lambda day: None)
    with pytest.raises(ValueError, match="no NYSE session"):
        market.next_close_after(dt.date(2026, 12, 1))


def test_the_calendar_is_holidays_own_nyse_calendar() -> None:
    years = range(2000, 2031)
    for category in ("public", "half_day"):
        ours = market._nyse_module().NewYorkStockExchange(years=years, categories=(category,))
        theirs = holidays.financial_holidays("NYSE", years=years, categories=(category,))
        assert dict(ours) == dict(theirs) != {}


def test_the_calendar_loads_without_every_exchange_and_country() -> None:
    """The reason the module is loaded on its own: the package would bring in ~300 modules."""
    code = (
        "import sys, datetime as dt\n"
        "from stock_ticker.domain import market\n"
        "market.session_close(dt.date(2026, 11, 27))\n"
        "loaded = ('holidays.countries.', 'holidays.financial')\n"
        "print(sum(m.startswith(loaded) for m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "0"


def test_a_holidays_release_without_the_nyse_file_fails_loudly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    market._nyse_module.cache_clear()
    monkeypatch.setattr(importlib.util, "spec_from_file_location", lambda name, path: None)
    try:
        with pytest.raises(ImportError, match="no NYSE calendar"):
            market._nyse_module()
    finally:
        market._nyse_module.cache_clear()
