"""Sources of daily prices: the Alpha Vantage client and the bundled sample data."""

from stock_ticker.domain.errors import (
    MalformedResponse,
    UnknownSymbol,
    UpstreamError,
    UpstreamRejected,
    UpstreamThrottled,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from stock_ticker.upstream.alphavantage import AlphaVantageClient
from stock_ticker.upstream.provider import PriceProvider
from stock_ticker.upstream.sample import SampleProvider

__all__ = [
    "AlphaVantageClient",
    "MalformedResponse",
    "PriceProvider",
    "SampleProvider",
    "UnknownSymbol",
    "UpstreamError",
    "UpstreamRejected",
    "UpstreamThrottled",
    "UpstreamTimeout",
    "UpstreamUnavailable",
]
