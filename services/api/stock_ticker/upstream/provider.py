"""The one thing the service needs from a source of prices."""

from __future__ import annotations

from typing import Protocol

from stock_ticker.domain import PriceSeries


class PriceProvider(Protocol):
    """Fetches a symbol's daily series, or raises an `UpstreamError` subclass."""

    #: Name reported to clients as `source` (``alphavantage`` or ``sample``).
    name: str
    #: Whether calls spend a limited quota (so the service must ration them).
    metered: bool

    async def fetch_daily_series(self, symbol: str, *, timeout: float) -> PriceSeries:
        """Fetch the full daily series for `symbol`, within `timeout` seconds."""
        ...
