"""The use case: cached, single-flight, quota-aware access to daily series.

This package's interface is all the web layer sees: `Quotes` and what it answers, and every
failure it can raise. The upstream's failure types are raised where they are detected (in
`upstream/`) and re-exported here as part of that interface, so the web layer maps them to HTTP
without knowing the upstream (an import-linter contract holds it to that).
"""

from stock_ticker.service.budget import UpstreamBudget
from stock_ticker.service.errors import BudgetExhausted, TooManyWaiting
from stock_ticker.service.quotes import CacheState, Quote, Quotes
from stock_ticker.upstream import (
    AlphaVantageClient,
    MalformedResponse,
    SampleProvider,
    UnknownSymbol,
    UpstreamError,
    UpstreamRejected,
    UpstreamThrottled,
    UpstreamTimeout,
    UpstreamUnavailable,
)

#: The `source` an answer can name: one per provider.
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
