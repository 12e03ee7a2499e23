"""The use case: cached, single-flight, quota-aware access to daily series.

This package's interface is all the web layer sees: `Quotes` and what it answers, and every
failure it can raise: its own (budget, waiting bound) and the domain's failures of getting a
series (`domain/errors.py`), which the providers raise. So the web layer maps them to HTTP
without knowing the upstream (an import-linter contract holds it to that).
"""

from stock_ticker.domain.errors import (
    MalformedResponse,
    UnknownSymbol,
    UpstreamError,
    UpstreamRejected,
    UpstreamThrottled,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from stock_ticker.service.budget import UpstreamBudget
from stock_ticker.service.errors import BudgetExhausted, TooManyWaiting
from stock_ticker.service.quotes import CacheState, Quote, Quotes
from stock_ticker.upstream import AlphaVantageClient, SampleProvider

#: The `source` an answer can name: one per provider, the live one first and the bundled sample
#: last (the response schema describes them so).
SOURCES = (AlphaVantageClient.name, SampleProvider.name)

__all__ = [
    "SOURCES",
    "BudgetExhausted",
    "CacheState",
    "MalformedResponse",
    "Quote",
    "Quotes",
    "TooManyWaiting",
    "UnknownSymbol",
    "UpstreamBudget",
    "UpstreamError",
    "UpstreamRejected",
    "UpstreamThrottled",
    "UpstreamTimeout",
    "UpstreamUnavailable",
]
