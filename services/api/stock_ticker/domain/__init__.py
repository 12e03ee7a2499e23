"""Plain price data and the arithmetic on it: no I/O, no framework."""

from stock_ticker.domain.prices import DailyBar, PriceSeries, average_close

__all__ = ["DailyBar", "PriceSeries", "average_close"]
