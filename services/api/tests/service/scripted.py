"""A scripted price provider and a `Quotes` built on a hand-moved clock, for the service tests."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections import deque
from collections.abc import Iterable
from decimal import Decimal

from stock_ticker.config import Settings
from stock_ticker.domain import DailyBar, PriceSeries
from stock_ticker.observability.metrics import Metrics
from stock_ticker.service import Quotes
from stock_ticker.upstream import UpstreamError
from tests.support.clock import FakeClock


def series(symbol: str = "MSFT", close: str = "1") -> PriceSeries:
    bar = DailyBar(dt.date(2026, 11, 27), *(Decimal(close),) * 4, 100)
    return PriceSeries(symbol, dt.date(2026, 11, 27), (bar,))


Outcome = PriceSeries | UpstreamError


class ScriptedProvider:
    """Answers from a script per symbol (then a fresh series); records every call."""

    name = "scripted"

    def __init__(self, *, metered: bool = True) -> None:
        self.metered = metered
        self.calls: list[tuple[str, float]] = []
        self.script: dict[str, deque[Outcome]] = {}
        self.gate: asyncio.Event | None = None

    def then(self, symbol: str, outcomes: Iterable[Outcome]) -> None:
        self.script.setdefault(symbol, deque()).extend(outcomes)

    async def fetch_daily_series(self, symbol: str, *, timeout: float) -> PriceSeries:
        self.calls.append((symbol, timeout))
        if self.gate is not None:
            await self.gate.wait()
        queue = self.script.get(symbol)
        outcome = queue.popleft() if queue else series(symbol)
        if isinstance(outcome, UpstreamError):
            raise outcome
        return outcome


SETTINGS = Settings(
    stocks_api_key="k",
    cache_ttl_seconds=60.0,
    max_stale_seconds=3600.0,
    upstream_rate_per_second=0,
    upstream_daily_budget=0,
    upstream_deadline_seconds=20.0,
    upstream_timeout_seconds=10.0,
)


def make(
    provider: ScriptedProvider, clock: FakeClock, **overrides: object
) -> tuple[Quotes, Metrics]:
    metrics = Metrics()
    settings = dataclasses.replace(SETTINGS, **overrides)  # type: ignore[arg-type]
    return Quotes(provider, settings, metrics, clock=clock, sleep=clock.sleep), metrics


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels or None)
    return 0.0 if value is None else value
