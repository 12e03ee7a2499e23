"""Plain price data and the arithmetic on it: no I/O, no framework."""

from stock_ticker.domain.prices import DailyBar, PriceSeries, average_close
from stock_ticker.domain.symbols import MAX_NDAYS, NDAYS_FORM, SYMBOL_FORM, SYMBOL_PATTERN

__all__ = [
    "MAX_NDAYS",
    "NDAYS_FORM",
    "SYMBOL_FORM",
    "SYMBOL_PATTERN",
    "DailyBar",
    "PriceSeries",
    "average_close",
]
