"""The fake Alpha Vantage: a real aiohttp server answering `GET /query` as the upstream does, with
every fault the service must survive. It is the one fake upstream of the tests, the infra tests
and the bench.

Answers, in order: a `function` other than TIME_SERIES_DAILY, or no symbol, is an invalid call; then
the symbol's scripted replies (`script`), one per call; then `choose(symbol)`, then `default`;
else the bundled sample file of the symbol, after `latency` seconds. A symbol without a file is
an invalid call, as the real API answers, or with `stand_in` set, that symbol's file relabelled
(the bench's cold symbols). A `Reply` can hold its answer (`gate`), never answer (`stall`: until
the caller hangs up), break off mid-body (`reset`) or close without a word (`hang_up`).

Besides `/query`: `GET /_stats` (calls per symbol, the fake's own time per sample answer, the
mode, the calls open per symbol, seconds since a symbol's last call began or ended) and
`GET /_control?mode=ok|500|hang`, which sets `default` for every later call: the bench's side of
these is tools/bench/upstream_control.py. As a process of its own (what the bench starts):

    python -m tests.support.fake_upstream --port P [--latency-ms 150] [--loop asyncio]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from typing import Any

from aiohttp import web

from .builders import LIVE_INFORMATION, SAMPLE_DIR
from .processes import free_port
from .serving import Listener, run
from .upstream_texts import INVALID_CALL_BODY

MODES = ("ok", "500", "hang")
STALL_POLL_SECONDS = 0.05  # how often a stalled answer looks whether its caller has gone
STALL_MAX_SECONDS = 600.0  # a bound: a stalled answer never outlives this


@dataclass
class Reply:
    """One scripted upstream answer."""

    body: Any = None  # dict → JSON; bytes/str → sent as is; None → the symbol's sample document
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    gate: asyncio.Event | None = None  # hold the answer until the test sets it
    stall: bool = False  # never answer (until the caller hangs up or the server stops)
    reset: bool = False  # start a body, then drop the connection
    hang_up: bool = False  # read the request, then close the connection without a word


#: What `/_control?mode=` sets as the default reply.
MODE_REPLIES: dict[str, Reply | None] = {
    "ok": None,
    "500": Reply("Internal Server Error", status=500),
    "hang": Reply(stall=True),
}


class FakeAlphaVantage:
    """Serves `/query` like Alpha Vantage. Scripted replies per symbol, else the sample data."""

    def __init__(
        self,
        *,
        latency: float = 0.0,
        stand_in: str | None = None,
        data_dir: Traversable = SAMPLE_DIR,
    ) -> None:
        self.latency = latency
        self.stand_in = stand_in
        self.data_dir = data_dir
        self.calls: Counter[str] = Counter()
        self.queries: list[dict[str, str]] = []
        self.raw_query_strings: list[str] = []
        self._script: defaultdict[str, deque[Reply]] = defaultdict(deque)
        self.default: Reply | None = None
        self.mode = "ok"
        #: Optional per-symbol choice, asked when a symbol has no scripted reply left; returning
        #: None falls back to `default`.
        self.choose: Callable[[str], Reply | None] | None = None
        #: `time.monotonic()` at each call's arrival, in order.
        self.call_times: list[float] = []
        self.in_flight = 0
        self.open: Counter[str] = Counter()  # calls in progress, per symbol
        self.last_activity: dict[str, float] = {}  # a call for the symbol began or ended
        self.handling_seconds: deque[float] = deque(maxlen=1000)  # per sample answer
        #: Set when a query arrives: tests wait on it instead of polling.
        self.arrived = asyncio.Event()
        self._bodies: dict[str, bytes | None] = {}
        self.app = web.Application()
        self.app.router.add_get("/query", self._query)
        self.app.router.add_get("/_stats", self._stats)
        self.app.router.add_get("/_control", self._control)

    def script(self, symbol: str, *replies: Reply) -> None:
        self._script[symbol].extend(replies)

    def set_mode(self, mode: str) -> None:
        """`ok`, `500` or `hang`: how every later call without a scripted reply is answered."""
        self.default = MODE_REPLIES[mode]
        self.mode = mode

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    async def _query(self, request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        symbol = request.query.get("symbol", "")
        self.calls[symbol] += 1
        self.call_times.append(time.monotonic())
        self.queries.append(dict(request.query))
        self.raw_query_strings.append(request.query_string)
        self.arrived.set()
        self.in_flight += 1
        self.open[symbol] += 1
        self.last_activity[symbol] = time.monotonic()
        try:
            if request.query.get("function") != "TIME_SERIES_DAILY" or not symbol:
                return web.json_response(INVALID_CALL_BODY)
            queue = self._script.get(symbol)
            chosen = self.choose(symbol) if self.choose is not None and not queue else None
            reply = queue.popleft() if queue else (chosen or self.default or Reply())
            return await self._answer(request, symbol, reply, started)
        finally:
            self.in_flight -= 1
            self.open[symbol] -= 1
            self.last_activity[symbol] = time.monotonic()

    async def _answer(
        self, request: web.Request, symbol: str, reply: Reply, started: float
    ) -> web.StreamResponse:
        if reply.gate is not None:
            await reply.gate.wait()
        if reply.stall:
            await self._until_the_caller_goes(request)
            return web.Response(status=504)  # nobody reads it: the caller has gone
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
        if reply.body is None:
            return await self._sample_answer(symbol, reply, started)
        if isinstance(reply.body, dict):
            return web.json_response(reply.body, status=reply.status, headers=reply.headers)
        return web.Response(body=reply.body, status=reply.status, headers=reply.headers)

    async def _until_the_caller_goes(self, request: web.Request) -> None:
        bound = time.monotonic() + STALL_MAX_SECONDS
        while time.monotonic() < bound:
            if request.transport is None or request.transport.is_closing():
                return
            await asyncio.sleep(STALL_POLL_SECONDS)

    async def _sample_answer(self, symbol: str, reply: Reply, started: float) -> web.StreamResponse:
        body = self._sample(symbol)
        if body is None:
            return web.json_response(INVALID_CALL_BODY, status=reply.status, headers=reply.headers)
        if self.latency:
            await asyncio.sleep(self.latency)
        headers = {"Content-Type": "application/json", **reply.headers}
        response = web.Response(body=body, status=reply.status, headers=headers)
        self.handling_seconds.append(time.perf_counter() - started)
        return response

    def _sample(self, symbol: str) -> bytes | None:
        """The encoded sample document for `symbol` (or the stand-in's, relabelled); None when
        there is none."""
        if symbol not in self._bodies:
            self._bodies[symbol] = None
            for source in (symbol, self.stand_in):
                path = self.data_dir / f"{source}.json"
                if source and path.is_file():
                    doc = json.loads(path.read_text())
                    doc["Meta Data"]["1. Information"] = LIVE_INFORMATION
                    doc["Meta Data"]["2. Symbol"] = symbol
                    self._bodies[symbol] = json.dumps(doc).encode()
                    break
        return self._bodies[symbol]

    async def _stats(self, request: web.Request) -> web.Response:
        now = time.monotonic()
        return web.json_response(
            {
                "calls": dict(self.calls),
                "handling_seconds": list(self.handling_seconds),
                "mode": self.mode,
                "open": {symbol: n for symbol, n in self.open.items() if n},
                "idle_seconds": {symbol: now - at for symbol, at in self.last_activity.items()},
            }
        )

    async def _control(self, request: web.Request) -> web.Response:
        wanted = request.query.get("mode", "")
        if wanted not in MODES:
            return web.json_response({"error": f"mode must be one of {MODES}"}, status=400)
        self.set_mode(wanted)
        return web.json_response({"mode": wanted})


class SwitchableUpstream:
    """A `FakeAlphaVantage` on a fixed 127.0.0.1 port whose listener can be stopped (the port then
    refuses connections, and open keep-alive connections are closed) and started again."""

    def __init__(self) -> None:
        self.fake = FakeAlphaVantage()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        # A stalled reply waits for its caller: give it no grace when the listener goes away.
        self._listener = Listener(self.fake.app, "127.0.0.1", self.port, shutdown_timeout=0.1)

    async def start(self) -> None:
        await self._listener.start()

    async def stop(self) -> None:
        await self._listener.stop()

    @property
    def running(self) -> bool:
        return self._listener.running


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="The fake Alpha Vantage, as a process.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency-ms", type=float, default=150.0, help="delay of a good answer")
    parser.add_argument(
        "--stand-in",
        default="MSFT",
        help="answer a symbol without a sample file with this one's, relabelled ('' : an error)",
    )
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    args = parser.parse_args(argv)
    fake = FakeAlphaVantage(latency=args.latency_ms / 1000, stand_in=args.stand_in or None)
    if fake.stand_in and not (fake.data_dir / f"{fake.stand_in}.json").is_file():
        parser.error(f"no sample file for --stand-in {fake.stand_in}")
    run(fake.app, args.host, args.port, args.loop)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
