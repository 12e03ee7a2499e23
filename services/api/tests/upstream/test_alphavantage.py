"""The Alpha Vantage client against a fake upstream on a real port, and aioresponses for faults
a real server cannot easily stage."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aioresponses import aioresponses
from yarl import URL

from stock_ticker.upstream import (
    AlphaVantageClient,
    MalformedResponse,
    UnknownSymbol,
    UpstreamError,
    UpstreamThrottled,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from stock_ticker.upstream.alphavantage import MAX_BODY_BYTES, query_url
from tests.conftest import API_KEY
from tests.support.fake_upstream import FakeAlphaVantage, Reply
from tests.support.processes import free_port
from tests.support.upstream_texts import DAILY_LIMIT_BODY, INVALID_CALL_BODY

Upstream = tuple[FakeAlphaVantage, str]


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.mark.parametrize(
    "host", ["https://www.alphavantage.co", "https://www.alphavantage.co/", "http://h:1/base//"]
)
def test_query_url_joins_without_a_double_slash(host: str) -> None:
    url = query_url(host)
    assert url.path.endswith("/query")
    assert "//query" not in str(url)


async def test_fetches_and_parses_a_series(
    session: aiohttp.ClientSession, fake_upstream: Upstream
) -> None:
    fake, host = fake_upstream
    client = AlphaVantageClient(session, host, API_KEY)
    series = await client.fetch_daily_series("IBM", timeout=5)
    assert series.symbol == "IBM"
    assert len(series.bars) >= 100
    assert fake.queries[0]["function"] == "TIME_SERIES_DAILY"
    assert fake.queries[0]["outputsize"] == "compact"


async def test_symbol_is_encoded_not_pasted(
    session: aiohttp.ClientSession, fake_upstream: Upstream
) -> None:
    fake, host = fake_upstream
    client = AlphaVantageClient(session, host, API_KEY)
    with pytest.raises(UnknownSymbol):
        await client.fetch_daily_series("A&apikey=evil#x", timeout=5)
    assert fake.queries[0]["symbol"] == "A&apikey=evil#x"
    assert fake.queries[0]["apikey"] == API_KEY
    assert "apikey=evil" not in fake.raw_query_strings[0]


@pytest.mark.parametrize("status", [500, 502, 503, 429])
async def test_http_5xx_and_429_are_unavailable_with_retry_after(
    session: aiohttp.ClientSession, fake_upstream: Upstream, status: int
) -> None:
    fake, host = fake_upstream
    fake.default = Reply(b"busy", status=status, headers={"Retry-After": "7"})
    with pytest.raises(UpstreamUnavailable) as raised:
        await AlphaVantageClient(session, host, API_KEY).fetch_daily_series("MSFT", timeout=5)
    assert raised.value.retry_after == 7
    assert raised.value.transient


async def test_retry_after_as_a_date_is_ignored(
    session: aiohttp.ClientSession, fake_upstream: Upstream
) -> None:
    fake, host = fake_upstream
    fake.default = Reply(b"", status=503, headers={"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"})
    with pytest.raises(UpstreamUnavailable) as raised:
        await AlphaVantageClient(session, host, API_KEY).fetch_daily_series("MSFT", timeout=5)
    assert raised.value.retry_after is None


async def test_other_http_statuses_are_bad_answers(
    session: aiohttp.ClientSession, fake_upstream: Upstream
) -> None:
    fake, host = fake_upstream
    fake.default = Reply(b"moved", status=301, headers={"Location": "http://elsewhere/"})
    with pytest.raises(MalformedResponse, match="HTTP 301"):
        await AlphaVantageClient(session, host, API_KEY).fetch_daily_series("MSFT", timeout=5)


async def test_throttle_body_is_classified(
    session: aiohttp.ClientSession, fake_upstream: Upstream
) -> None:
    fake, host = fake_upstream
    fake.default = Reply(DAILY_LIMIT_BODY)
    with pytest.raises(UpstreamThrottled):
        await AlphaVantageClient(session, host, API_KEY).fetch_daily_series("MSFT", timeout=5)


async def test_stalled_upstream_times_out(
    session: aiohttp.ClientSession, fake_upstream: Upstream
) -> None:
    fake, host = fake_upstream
    fake.default = Reply(stall=True)
    with pytest.raises(UpstreamTimeout):
        await AlphaVantageClient(session, host, API_KEY).fetch_daily_series("MSFT", timeout=0.1)


async def test_connection_reset_mid_body_is_unavailable(
    session: aiohttp.ClientSession, fake_upstream: Upstream
) -> None:
    fake, host = fake_upstream
    fake.default = Reply(reset=True)
    with pytest.raises(UpstreamUnavailable) as raised:
        await AlphaVantageClient(session, host, API_KEY).fetch_daily_series("MSFT", timeout=5)
    assert API_KEY not in str(raised.value)


async def test_connection_refused_is_unavailable_and_never_shows_the_key(
    session: aiohttp.ClientSession,
) -> None:
    port = free_port()  # nothing listens there
    client = AlphaVantageClient(session, f"http://127.0.0.1:{port}/", API_KEY)
    with pytest.raises(UpstreamUnavailable) as raised:
        await client.fetch_daily_series("MSFT", timeout=5)
    assert API_KEY not in str(raised.value)
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__


async def test_oversized_body_is_refused(
    session: aiohttp.ClientSession, fake_upstream: Upstream
) -> None:
    fake, host = fake_upstream
    fake.default = Reply(b" " * (MAX_BODY_BYTES + 10))
    with pytest.raises(MalformedResponse, match="larger"):
        await AlphaVantageClient(session, host, API_KEY).fetch_daily_series("MSFT", timeout=5)


async def test_client_errors_from_aiohttp_become_unavailable(
    session: aiohttp.ClientSession, mocked: aioresponses
) -> None:
    host = "https://upstream.test/"
    pattern = URL("https://upstream.test/query").with_query(
        function="TIME_SERIES_DAILY", symbol="MSFT", outputsize="compact", apikey=API_KEY
    )
    mocked.get(pattern, exception=aiohttp.ServerDisconnectedError())
    mocked.get(pattern, payload=INVALID_CALL_BODY)
    client = AlphaVantageClient(session, host, API_KEY)
    with pytest.raises(UpstreamUnavailable, match="ServerDisconnectedError"):
        await client.fetch_daily_series("MSFT", timeout=5)
    with pytest.raises(UnknownSymbol):
        await client.fetch_daily_series("MSFT", timeout=5)


def _connection_key() -> Any:
    from aiohttp.client_reqrep import ConnectionKey

    return ConnectionKey("upstream.test", 443, True, True, None, None, None)


TRANSPORT_FAULTS = [
    # (aiohttp's exception, our type, transient, reached, words of the detail)
    pytest.param(
        aiohttp.ClientConnectorDNSError(_connection_key(), OSError(-2, "Name unknown")),
        UpstreamUnavailable,
        True,
        False,
        "unreachable",
        id="dns",
    ),
    pytest.param(
        aiohttp.ClientConnectorError(_connection_key(), ConnectionRefusedError(111, "refused")),
        UpstreamUnavailable,
        True,
        False,
        "unreachable",
        id="connection-refused",
    ),
    pytest.param(
        aiohttp.ConnectionTimeoutError("connect"),
        UpstreamTimeout,
        True,
        False,
        "accept a connection",
        id="connect-timeout",
    ),
    pytest.param(
        aiohttp.SocketTimeoutError("read"),
        UpstreamTimeout,
        True,
        True,
        "did not answer",
        id="read-timeout",
    ),
    pytest.param(
        aiohttp.ClientConnectorCertificateError(_connection_key(), ValueError("bad cert")),
        UpstreamUnavailable,
        False,
        False,
        "TLS",
        id="certificate",
    ),
    pytest.param(
        aiohttp.ServerDisconnectedError(),
        UpstreamUnavailable,
        False,
        True,
        "without answering",
        id="closed-without-answer",
    ),
    pytest.param(
        aiohttp.ClientResponseError(None, (), status=400, message="Got more than 8190 bytes"),  # type: ignore[arg-type]
        MalformedResponse,
        False,
        True,
        "not valid HTTP",
        id="oversized-headers",
    ),
    pytest.param(
        aiohttp.ClientPayloadError("reset mid-body"),
        UpstreamUnavailable,
        True,
        True,
        "connection failed",
        id="reset-mid-body",
    ),
    pytest.param(
        aiohttp.ClientOSError(104, "Connection reset by peer"),
        UpstreamUnavailable,
        True,
        True,
        "connection failed",
        id="reset",
    ),
]


@pytest.mark.parametrize(("error", "kind", "transient", "reached", "words"), TRANSPORT_FAULTS)
async def test_transport_faults_say_whether_to_retry_and_whether_quota_was_spent(
    session: aiohttp.ClientSession,
    mocked: aioresponses,
    error: Exception,
    kind: type[UpstreamError],
    transient: bool,
    reached: bool,
    words: str,
) -> None:
    pattern = URL("https://upstream.test/query").with_query(
        function="TIME_SERIES_DAILY", symbol="MSFT", outputsize="compact", apikey=API_KEY
    )
    mocked.get(pattern, exception=error)
    client = AlphaVantageClient(session, "https://upstream.test/", API_KEY)
    with pytest.raises(kind) as raised:
        await client.fetch_daily_series("MSFT", timeout=5)
    assert type(raised.value) is kind
    assert (raised.value.transient, raised.value.reached) == (transient, reached)
    assert words in raised.value.detail
    assert type(error).__name__ in raised.value.detail
    assert API_KEY not in raised.value.detail
