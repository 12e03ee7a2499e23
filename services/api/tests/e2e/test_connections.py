"""Issue 9, point 5, through the real process: with `KEEPALIVE_TIMEOUT_SECONDS`, a connection
that never sends a request, one left idle after its requests, and one that trickles its headers
are closed by the server; a request in progress is not cut off by the timer. (The raised
open-files limit is shown in test_process.py.)

Each connection is a raw socket, so nothing on the client side closes or pools it; the service
closing it reads as EOF.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.support.builders import series_body
from tests.support.fake_upstream import FakeAlphaVantage, Reply
from tests.support.fixtures import ServiceFactory
from tests.support.processes import ServerProcess

pytestmark = pytest.mark.e2e

Upstream = tuple[FakeAlphaVantage, str]

KEEPALIVE_SECONDS = 1.0
#: The timer is the service's promise: closed after about KEEPALIVE_TIMEOUT_SECONDS, with slack
#: for a loaded machine, and not long before it (that would be another mechanism closing it).
MARGIN_SECONDS = 4.0
EARLIEST_SECONDS = KEEPALIVE_SECONDS / 2
REQUEST = b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n"


async def connect(service: ServerProcess) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", service.port)


async def read_response(reader: asyncio.StreamReader) -> tuple[bytes, dict[str, str], bytes]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), MARGIN_SECONDS)
    status_line, *lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
    body = await reader.readexactly(int(headers["content-length"]))
    return status_line.encode(), headers, body


async def closed_after(reader: asyncio.StreamReader, since: float) -> float:
    """Seconds from `since` until the service closes the connection (EOF, nothing sent)."""
    data = await asyncio.wait_for(reader.read(), KEEPALIVE_SECONDS + MARGIN_SECONDS)
    assert data == b""
    return time.monotonic() - since


@pytest.fixture
async def service(start_service: ServiceFactory) -> ServerProcess:
    return await start_service({"KEEPALIVE_TIMEOUT_SECONDS": str(KEEPALIVE_SECONDS)})


async def test_a_connection_that_never_sends_a_request_is_closed(service: ServerProcess) -> None:
    opened = time.monotonic()
    reader, writer = await connect(service)
    try:
        assert await closed_after(reader, opened) >= EARLIEST_SECONDS
    finally:
        writer.close()


async def test_an_idle_keep_alive_connection_is_closed(service: ServerProcess) -> None:
    reader, writer = await connect(service)
    try:
        for _ in range(2):  # kept alive: a second request on the same connection is served
            writer.write(REQUEST)
            status, headers, body = await read_response(reader)
            assert status == b"HTTP/1.1 200 OK"
            assert headers.get("connection", "").lower() != "close"
            assert body == b'{"status":"ok"}'
        answered = time.monotonic()
        assert await closed_after(reader, answered) >= EARLIEST_SECONDS
    finally:
        writer.close()


async def test_a_connection_trickling_its_headers_is_closed(service: ServerProcess) -> None:
    opened = time.monotonic()
    reader, writer = await connect(service)
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: test\r\n")

        async def trickle() -> None:  # a header line now and then, never the blank line
            while True:
                writer.write(b"X-Slow: 1\r\n")
                await asyncio.sleep(KEEPALIVE_SECONDS / 5)  # the client's pace, not a race

        dribbling = asyncio.ensure_future(trickle())
        try:
            assert await closed_after(reader, opened) >= EARLIEST_SECONDS
        finally:
            dribbling.cancel()
    finally:
        writer.close()


async def test_a_request_in_progress_outlives_the_keep_alive_timeout(
    start_service: ServiceFactory, fake_upstream: Upstream
) -> None:
    fake, host = fake_upstream
    gate = asyncio.Event()
    fake.script("SLOW", Reply(series_body("SLOW", ["42"]), gate=gate))
    service = await start_service(
        {
            "STOCKS_API_HOST": host,
            "STOCKS_API_KEY": "TEST-KEY",
            "UPSTREAM_RATE_PER_SECOND": "0",
            "UPSTREAM_DAILY_BUDGET": "0",
            "ALLOWED_SYMBOLS": "SLOW",
            "KEEPALIVE_TIMEOUT_SECONDS": str(KEEPALIVE_SECONDS),
        }
    )
    reader, writer = await connect(service)
    try:
        opened = time.monotonic()
        writer.write(b"GET /ndays?symbol=SLOW&ndays=1 HTTP/1.1\r\nHost: test\r\n\r\n")
        await asyncio.wait_for(fake.arrived.wait(), MARGIN_SECONDS)
        # Past the keep-alive timeout, counted from the accept, with the handler still busy.
        await asyncio.sleep(1.5 * KEEPALIVE_SECONDS - (time.monotonic() - opened))
        assert not reader.at_eof()
        gate.set()
        status, headers, body = await read_response(reader)
        assert status == b"HTTP/1.1 200 OK"
        assert headers["x-cache"] == "MISS"
        assert b'"close":42' in body
    finally:
        writer.close()
