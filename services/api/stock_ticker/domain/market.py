"""The NYSE trading calendar: when the session of a day closes, and which session comes next.

`holidays` has the exchange's closures and its early closes (the `half_day` category); the
close times themselves are only in the holidays' names, so they are fixed here: 16:00
America/New_York, 13:00 on an early-close day. Weekends have no session.

Only the NYSE module of `holidays.financial` is loaded. Importing it the usual way runs that
package's `__init__`, which imports all its exchanges and, through them, about 250 country
modules: some 9 MiB of the service's resident memory for one calendar. The module itself
needs none of them (its imports are absolute, into `holidays.groups` and the base classes), so
it is executed from its file on its own; a test checks it against
`holidays.financial_holidays("NYSE")`.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from zoneinfo import ZoneInfo

import holidays

NEW_YORK = ZoneInfo("America/New_York")
REGULAR_CLOSE = dt.time(16, 0)
EARLY_CLOSE = dt.time(13, 0)
#: The time zone the upstream names for series of US exchanges.
US_EASTERN = "US/Eastern"


NYSE_MODULE = "holidays.financial.ny_stock_exchange"


@lru_cache(maxsize=1)
def _nyse_module() -> ModuleType:
    """`holidays`' NYSE module, without the package `holidays.financial` around it."""
    path = Path(holidays.__file__).parent / "financial" / "ny_stock_exchange.py"
    spec = importlib.util.spec_from_file_location(NYSE_MODULE, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"holidays has no NYSE calendar at {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@lru_cache(maxsize=16)
def _calendar(year: int) -> tuple[holidays.HolidayBase, holidays.HolidayBase]:
    exchange = _nyse_module().NewYorkStockExchange
    return exchange(years=year), exchange(years=year, categories=("half_day",))


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
