"""`fresh_for`: the worked examples of the market policy, each on a fixed clock."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from stock_ticker.config import Settings
from stock_ticker.domain import DailyBar, PriceSeries
from stock_ticker.domain.market import NEW_YORK
from stock_ticker.service.freshness import fresh_for

MARKET = Settings(refresh_policy="market", cache_ttl_seconds=3600.0)


def through(day: str, time_zone: str | None = "US/Eastern") -> PriceSeries:
    date = dt.date.fromisoformat(day)
    bar = DailyBar(date, *(Decimal(1),) * 4, 10)
    return PriceSeries("MSFT", date, (bar,), time_zone)


def ny(when: str) -> float:
    return dt.datetime.fromisoformat(when).replace(tzinfo=NEW_YORK).timestamp()


@pytest.mark.parametrize(
    ("data_through", "now", "fresh_until"),
    [
        ("2026-12-04", "2026-12-05 12:00", "2026-12-07 16:30"),  # Saturday: until Monday
        ("2026-11-30", "2026-12-01 11:00", "2026-12-01 16:30"),  # Tuesday morning
        ("2026-11-25", "2026-11-26 12:00", "2026-11-27 13:30"),  # Thanksgiving: early close
        # A newest bar dated on a day with no session: the next one after it is still due.
        ("2026-12-05", "2026-12-06 12:00", "2026-12-07 16:30"),  # a Saturday
        ("2026-12-25", "2026-12-26 12:00", "2026-12-28 16:30"),  # Christmas
        ("2026-12-24", "2026-12-24 13:45", "2026-12-28 16:30"),  # after Christmas Eve's 13:30
    ],
)
def test_a_series_with_the_newest_due_bar_is_fresh_until_the_next_is_due(
    data_through: str, now: str, fresh_until: str
) -> None:
    assert fresh_for(through(data_through), ny(now), MARKET) == ny(fresh_until) - ny(now)


def test_a_series_that_is_behind_is_rechecked_every_refresh_period() -> None:
    # Monday's data at Tuesday 16:45: Tuesday's bar was due at 16:30 and is not there yet.
    assert fresh_for(through("2026-11-30"), ny("2026-12-01 16:45"), MARKET) == 3600.0


def test_the_delay_after_the_close_is_configurable() -> None:
    settings = dataclasses.replace(MARKET, market_data_delay_seconds=0.0)
    now = ny("2026-12-01 11:00")
    assert fresh_for(through("2026-11-30"), now, settings) == ny("2026-12-01 16:00") - now


@pytest.mark.parametrize(
    ("series", "settings"),
    [
        (through("2026-12-04", time_zone="Europe/London"), MARKET),  # not a US series
        (through("2026-12-04", time_zone=None), MARKET),  # the upstream did not say
        (through("2026-12-04"), dataclasses.replace(MARKET, refresh_policy="fixed")),
    ],
    ids=["other-time-zone", "no-time-zone", "fixed-policy"],
)
def test_otherwise_the_fixed_ttl_applies(series: PriceSeries, settings: Settings) -> None:
    assert fresh_for(series, ny("2026-12-05 12:00"), settings) == 3600.0


def test_an_intraday_bar_is_fresh_only_until_its_own_session_is_due() -> None:
    # The upstream answered today's bar at 11:00, before today's close: it may still change.
    now = ny("2026-12-01 11:00")
    assert fresh_for(through("2026-12-01"), now, MARKET) == ny("2026-12-01 16:30") - now
    # Fetched after its session's bar was due, the same bar is final: fresh until tomorrow's.
    later = ny("2026-12-01 16:40")
    assert fresh_for(through("2026-12-01"), later, MARKET) == ny("2026-12-02 16:30") - later


def test_fresh_until_crosses_a_clock_change_by_the_hour() -> None:
    # Friday 2026-10-30 to Monday 2026-11-02 crosses the end of daylight saving (Nov 1).
    now = ny("2026-10-31 12:00")
    assert fresh_for(through("2026-10-30"), now, MARKET) == ny("2026-11-02 16:30") - now
