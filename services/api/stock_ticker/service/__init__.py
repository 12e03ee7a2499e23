"""The use case: cached, single-flight, quota-aware access to daily series."""

from stock_ticker.service.budget import UpstreamBudget
from stock_ticker.service.errors import BudgetExhausted, TooManyWaiting
from stock_ticker.service.quotes import CacheState, Quote, Quotes

__all__ = ["BudgetExhausted", "CacheState", "Quote", "Quotes", "TooManyWaiting", "UpstreamBudget"]
