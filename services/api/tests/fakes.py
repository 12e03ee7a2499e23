"""Test doubles that are real components: a fake Alpha Vantage served by a real aiohttp server,
and a clock the tests move by hand."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from aiohttp import web

SAMPLE_DIR = resources.files("stock_ticker.upstream") / "data"
INVALID_CALL = {
    "Error Message": "Invalid API call. Please retry or visit the documentation "
    "(https://www.alphavantage.co/documentation/) for TIME_SERIES_DAILY."
}
DAILY_LIMIT = {
    "Information": "Thank you for using Alpha Vantage! Our standard API rate limit is 25 requests "
    "per day. Please subscribe to any of the premium plans at "
    "https://www.alphavantage.co/premium/ to instantly remove all daily rate limits."
}
BURST_LIMIT = {
    "Information": "We have detected your API key as DEMOKEY and our standard API rate limit is "
    "25 requests per day. Please consider spreading out your free API requests more sparingly "
    "(1 request per second)."
}
OLD_NOTE = {
    "Note": "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per "
    "minute and 500 calls per day. Please visit https://www.alphavantage.co/premium/ if you "
    "would like to target a higher API call frequency."
}
PREMIUM = {
    "Information": "Thank you for using Alpha Vantage! This is a premium endpoint. You may "
    "subscribe to any of the premium plans at https://www.alphavantage.co/premium/ to instantly "
    "unlock all premium endpoints"
}
BAD_KEY = {
    "Error Message": "the parameter apikey is invalid or missing. Please claim your free API key "
    "on (https://www.alphavantage.co/support/#api-key). It should take less than 20 seconds."
}


def sample_body(symbol: str = "MSFT") -> dict[str, Any]:
    """The bundled sample document for `symbol`, relabelled as if it came from the live API."""
    doc: dict[str, Any] = json.loads((SAMPLE_DIR / f"{symbol}.json").read_text())
    doc["Meta Data"]["1. Information"] = "Daily Prices (open, high, low, close) and Volumes"
    return doc


def series_body(symbol: str, closes: list[str], last: str = "2026-11-27") -> dict[str, Any]:
    """A small series with the given closes, newest first, on consecutive days before `last`."""
    import datetime as dt

    day = dt.date.fromisoformat(last)
    rows = {}
    for i, close in enumerate(closes):
        rows[(day - dt.timedelta(days=i)).isoformat()] = {
            "1. open": close,
            "2. high": close,
            "3. low": close,
            "4. close": close,
            "5. volume": "1000",
        }
    return {
        "Meta Data": {"2. Symbol": symbol, "3. Last Refreshed": last},
        "Time Series (Daily)": rows,
    }


@dataclass
class Reply:
    """One scripted upstream answer."""

    body: Any = None  # dict → JSON; bytes/str → sent as is; None → the symbol's sample document
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    gate: asyncio.Event | None = None  # hold the answer until the test sets it
    stall: bool = False  # never answer (until the server stops)
    reset: bool = False  # start a body, then drop the connection
    hang_up: bool = False  # read the request, then close the connection without a word


class FakeAlphaVantage:
    """Serves `/query` like Alpha Vantage. Scripted replies per symbol, else the sample data."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.queries: list[dict[str, str]] = []
        self.raw_query_strings: list[str] = []
        self._script: defaultdict[str, deque[Reply]] = defaultdict(deque)
        self.default: Reply | None = None
        #: Optional per-symbol choice, asked when a symbol has no scripted reply left; returning
        #: None falls back to `default`.
        self.choose: Callable[[str], Reply | None] | None = None
        #: `time.monotonic()` at each call's arrival, in order.
        self.call_times: list[float] = []
        self.in_flight = 0
        #: Set when a query arrives: tests wait on it instead of polling.
        self.arrived = asyncio.Event()
        self.app = web.Application()
        self.app.router.add_get("/query", self._query)

    def script(self, symbol: str, *replies: Reply) -> None:
        self._script[symbol].extend(replies)

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    async def _query(self, request: web.Request) -> web.StreamResponse:
        symbol = request.query.get("symbol", "")
        self.calls[symbol] += 1
        self.call_times.append(time.monotonic())
        self.queries.append(dict(request.query))
        self.raw_query_strings.append(request.query_string)
        self.arrived.set()
        queue = self._script.get(symbol)
        chosen = self.choose(symbol) if self.choose is not None and not queue else None
        reply = queue.popleft() if queue else (chosen or self.default or Reply())
        self.in_flight += 1
        try:
            return await self._answer(request, symbol, reply)
        finally:
            self.in_flight -= 1

    async def _answer(self, request: web.Request, symbol: str, reply: Reply) -> web.StreamResponse:
        if reply.gate is not None:
            await reply.gate.wait()
        if reply.stall:
            await asyncio.Event().wait()
        if reply.hang_up:
            assert request.transport is not None
            request.transport.close()
            return web.Response()  # never written: the connection is gone
        if reply.reset:
            response = web.StreamResponse(headers={"Content-Type": "application/json"})
            response.content_length = 100_000
            await response.prepare(request)
            await response.write(b'{"Meta Data": {')
            assert request.transport is not None
            request.transport.close()
            return response
        body = reply.body
        if body is None:
            known = (SAMPLE_DIR / f"{symbol}.json").is_file()
            body = sample_body(symbol) if known else INVALID_CALL
        if isinstance(body, dict):
            return web.json_response(body, status=reply.status, headers=reply.headers)
        return web.Response(body=body, status=reply.status, headers=reply.headers)


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        """Stand-in for asyncio.sleep: time passes at once, other tasks still get to run."""
        self.now += seconds
        await asyncio.sleep(0)
