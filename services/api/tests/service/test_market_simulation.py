"""A simulated trading week (Thanksgiving 2026: a holiday and an early close) under steady traffic:
how many upstream calls each refresh policy makes, per symbol and per day."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal

import pytest

from stock_ticker.config import Settings
from stock_ticker.domain import DailyBar, PriceSeries
from stock_ticker.domain.market import NEW_YORK, session_close
from stock_ticker.observability.metrics import Metrics
from stock_ticker.service import Quotes
from tests.support.clock import FakeClock

SYMBOLS = [f"S{i}" for i in range(10)]
#: When the upstream publishes a session's bar: some time after the close, later than our delay.
PUBLISHED_AFTER = dt.timedelta(minutes=45)
WEEK_START = dt.datetime(2026, 11, 23, tzinfo=NEW_YORK)  # Monday
REQUEST_EVERY = dt.timedelta(minutes=5)


class MarketUpstream:
    """Answers each symbol's series up to the newest session whose bar is published by now."""

    name = "market"
    metered = False

    def __init__(self, clock: FakeClock) -> None:
        self._clock = clock
        self.calls: Counter[tuple[str, dt.date]] = Counter()

    async def fetch_daily_series(self, symbol: str, *, timeout: float) -> PriceSeries:
        now = dt.datetime.fromtimestamp(self._clock(), NEW_YORK)
        self.calls[symbol, now.date()] += 1
        day = now.date()
        while (close := session_close(day)) is None or close + PUBLISHED_AFTER > now:
            day -= dt.timedelta(days=1)
        bar = DailyBar(day, *(Decimal(1),) * 4, 100)
        return PriceSeries(symbol, day, (bar,), "US/Eastern")


async def simulate(policy: str) -> Counter[tuple[str, dt.date]]:
    clock = FakeClock(start=(WEEK_START - dt.timedelta(hours=1)).timestamp())
    upstream = MarketUpstream(clock)
    settings = Settings(refresh_policy=policy, cache_ttl_seconds=3600.0, allow_any_symbol=True)
    quotes = Quotes(upstream, settings, Metrics(), clock=clock, wall=clock, sleep=clock.sleep)
    for symbol in SYMBOLS:  # the cache is warm when the week starts
        await quotes.get(symbol)
    upstream.calls.clear()
    clock.now = WEEK_START.timestamp()
    end = (WEEK_START + dt.timedelta(days=7)).timestamp()
    while clock.now < end:
        for symbol in SYMBOLS:
            await quotes.get(symbol)
        clock.advance(REQUEST_EVERY.total_seconds())
    return upstream.calls


def per_day(calls: Counter[tuple[str, dt.date]], symbol: str) -> dict[str, int]:
    days = (WEEK_START.date() + dt.timedelta(days=i) for i in range(7))
    return {day.strftime("%a"): calls[symbol, day] for day in days}


async def test_the_market_policy_calls_at_most_twice_a_trading_day_and_never_on_days_off() -> None:
    calls = await simulate("market")
    for symbol in SYMBOLS:
        days = per_day(calls, symbol)
        # Thursday is Thanksgiving; Friday closes at 13:00. At the bar's due time the
        # upstream has not published it yet; the re-check an hour later finds it.
        assert days == {"Mon": 2, "Tue": 2, "Wed": 2, "Thu": 0, "Fri": 2, "Sat": 0, "Sun": 0}
    assert sum(calls.values()) == 8 * len(SYMBOLS)  # a week for 10 symbols: 80 calls


async def test_the_fixed_policy_calls_every_hour_whatever_the_day() -> None:
    calls = await simulate("fixed")
    for symbol in SYMBOLS:
        assert set(per_day(calls, symbol).values()) == {24}
    assert sum(calls.values()) == 24 * 7 * len(SYMBOLS)


@pytest.mark.parametrize("policy", ["market", "fixed"])
async def test_every_answer_has_the_newest_published_bar_within_an_hour(policy: str) -> None:
    clock = FakeClock(start=dt.datetime(2026, 12, 1, 17, 31, tzinfo=NEW_YORK).timestamp())
    quotes = Quotes(
        MarketUpstream(clock),
        Settings(refresh_policy=policy),
        Metrics(),
        clock=clock,
        wall=clock,
        sleep=clock.sleep,
    )
    assert (await quotes.get("MSFT")).series.newest == dt.date(2026, 12, 1)
