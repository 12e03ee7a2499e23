"""Alpha Vantage `TIME_SERIES_DAILY` over HTTP: one attempt, classified, the key never logged."""

from __future__ import annotations

import asyncio

import aiohttp
from yarl import URL

from stock_ticker.domain import PriceSeries
from stock_ticker.domain.errors import (
    MalformedResponse,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
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
        except aiohttp.ClientError as exc:  # before TimeoutError: aiohttp's timeouts are both
            raise transport_error(exc) from None
        except TimeoutError:
            raise UpstreamTimeout(f"upstream did not answer within {timeout:g} s") from None
        return parse_daily_body(raw, symbol)


def transport_error(exc: aiohttp.ClientError) -> UpstreamError:
    """Classify a transport failure: did the request reach the upstream (and so spend quota),
    and may trying again soon help? The exception's text can carry the request URL, and so the
    key: only its type is kept."""
    name = type(exc).__name__
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return UpstreamTimeout(
            f"upstream did not accept a connection in time ({name})", reached=False
        )
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return UpstreamTimeout(f"upstream did not answer in time ({name})")
    if isinstance(exc, aiohttp.ClientSSLError):
        # A certificate or TLS failure repeats until someone fixes it; no request was sent.
        return UpstreamUnavailable(
            f"TLS with the upstream failed ({name})", transient=False, reached=False
        )
    if isinstance(exc, aiohttp.ClientConnectorError):
        # Name resolution, connection refused, no route: the request never left this machine.
        return UpstreamUnavailable(f"upstream unreachable ({name})", reached=False)
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        # The request was sent and the upstream hung up without an answer: it does so again.
        return UpstreamUnavailable(
            f"upstream closed the connection without answering ({name})", transient=False
        )
    if isinstance(exc, aiohttp.ClientResponseError):
        # Not HTTP we can read (oversized or malformed status line or headers).
        return MalformedResponse(f"upstream answer is not valid HTTP ({name})")
    return UpstreamUnavailable(f"upstream connection failed ({name})")


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
