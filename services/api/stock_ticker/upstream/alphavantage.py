"""Alpha Vantage `TIME_SERIES_DAILY` over HTTP: one attempt, classified, the key never logged."""

from __future__ import annotations

import asyncio

import aiohttp
from yarl import URL

from stock_ticker.domain import PriceSeries
from stock_ticker.upstream.errors import MalformedResponse, UpstreamTimeout, UpstreamUnavailable
from stock_ticker.upstream.parsing import parse_daily_body

#: Bodies above this are not a 100-day compact series; refuse rather than buffer without bound.
MAX_BODY_BYTES = 2 * 1024 * 1024


def query_url(host: str) -> URL:
    """`{host}/query`, whether or not `host` ends in a slash (never `//query`)."""
    return URL(host.rstrip("/") + "/query")


class AlphaVantageClient:
    """Fetches one symbol's compact daily series through a shared `ClientSession`.

    One call is one attempt: retries, deadlines and quota belong to the service layer, which
    sees every attempt. The symbol travels as an encoded query parameter, never pasted in.
    """

    name = "alphavantage"
    metered = True

    def __init__(self, session: aiohttp.ClientSession, host: str, api_key: str) -> None:
        self._session = session
        self._url = query_url(host)
        self._api_key = api_key

    async def fetch_daily_series(self, symbol: str, *, timeout: float) -> PriceSeries:
        params = {
            "function": "TIME_SERIES_DAILY",
            "symbol": symbol,
            "outputsize": "compact",
            "apikey": self._api_key,
        }
        try:
            async with asyncio.timeout(timeout):
                async with self._session.get(
                    self._url, params=params, allow_redirects=False
                ) as response:
                    if response.status == 429 or response.status >= 500:
                        raise UpstreamUnavailable(
                            f"upstream answered HTTP {response.status}",
                            retry_after=_retry_after(response.headers.get("Retry-After")),
                        )
                    if response.status != 200:
                        raise MalformedResponse(f"upstream answered HTTP {response.status}")
                    raw = await _read_bounded(response)
        except TimeoutError:
            raise UpstreamTimeout(f"upstream did not answer within {timeout:g} s") from None
        except aiohttp.ClientError as exc:
            # The exception text can carry the request URL, and so the key: log only its type.
            raise UpstreamUnavailable(f"upstream unreachable ({type(exc).__name__})") from None
        return parse_daily_body(raw, symbol)


async def _read_bounded(response: aiohttp.ClientResponse) -> bytes:
    body = bytearray()
    async for chunk in response.content.iter_any():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise MalformedResponse("upstream body is larger than any daily series")
    return bytes(body)


def _retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header given in seconds; HTTP dates and junk are ignored."""
    if value is None or not value.strip().isdigit():
        return None
    return float(value.strip())
