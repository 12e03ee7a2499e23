"""Request handlers: read the request, ask the service, write the answer. No upstream knowledge."""

from __future__ import annotations

from functools import lru_cache

from aiohttp import web
from aiohttp.hdrs import IF_MODIFIED_SINCE, IF_NONE_MATCH
from aiohttp.helpers import ETAG_ANY
from aiohttp_apigami import docs, querystring_schema, response_schema

from stock_ticker.service import CacheState, Quote, Quotes
from stock_ticker.web import problems
from stock_ticker.web.problems import Problem
from stock_ticker.web.query import parse_ndays_query
from stock_ticker.web.render import http_date, ndays_answer
from stock_ticker.web.schemas import (
    HealthSchema,
    NdaysQuerySchema,
    NdaysResponseSchema,
    ProblemSchema,
)
from stock_ticker.web.state import LIFECYCLE, METRICS, QUOTES, REQUESTED_SYMBOL, SETTINGS

_OK = b'{"status":"ok"}'
_READY = b'{"status":"ready"}'


@docs(
    tags=["prices"],
    operation_id="get_ndays",
    responses={
        304: {"description": "Not modified: the If-None-Match or If-Modified-Since still holds."}
    },
    summary="Latest daily prices and their average close",
    description="The newest `ndays` trading days for `symbol`, newest first, and the average "
    "closing price over exactly those days. Served from a cache that stays fresh until the "
    "next daily bar is due (REFRESH_POLICY); see the X-Cache, Cache-Control and ETag headers.",
)
@querystring_schema(NdaysQuerySchema)
@response_schema(NdaysResponseSchema, 200, description="Prices for the requested days.")
@response_schema(ProblemSchema, 400, description="A parameter is malformed.")
@response_schema(ProblemSchema, 403, description="The symbol is not in ALLOWED_SYMBOLS.")
@response_schema(
    ProblemSchema, 404, description="Unknown symbol (to the upstream, or to the sample data)."
)
@response_schema(ProblemSchema, 502, description="The upstream answered something unusable.")
@response_schema(
    ProblemSchema, 503, description="Upstream throttled or down, budget spent, or too busy."
)
@response_schema(ProblemSchema, 504, description="The upstream did not answer in time.")
async def ndays(request: web.Request) -> web.Response:
    query = parse_ndays_query(request.query_string)
    settings = request.app[SETTINGS]
    symbol = query.symbol or settings.symbol
    request[REQUESTED_SYMBOL] = symbol
    if not settings.admits(symbol):
        raise problems.symbol_not_allowed(symbol)
    quotes = request.app[QUOTES]
    quote = await quotes.get(symbol)
    rendered = ndays_answer(quote.series, query.ndays or settings.ndays, quote.source)
    headers = _headers(quote, rendered.etag, _cache_extensions(quotes))
    if _not_modified(request, rendered.etag, quote.modified):
        return web.Response(status=304, headers=headers)
    return web.Response(body=rendered.body, headers=headers)


def _not_modified(request: web.Request, etag: str, modified: int) -> bool:
    """RFC 9110 conditional GET: If-None-Match (weak comparison) when sent, otherwise
    If-Modified-Since against when the data was fetched."""
    sent = request.headers.get(IF_NONE_MATCH)
    if sent is not None:
        if sent == etag:  # what a client that cached this answer sends: no parsing needed
            return True
        tags = request.if_none_match
        return tags is not None and any(tag.value in (ETAG_ANY, etag[1:-1]) for tag in tags)
    if IF_MODIFIED_SINCE not in request.headers:  # the usual request: nothing to parse
        return False
    since = request.if_modified_since
    return since is not None and modified <= since.timestamp()


def _quotable(text: str | None) -> str:
    """Fit a reason inside an HTTP quoted-string: printable ASCII without quotes or escapes."""
    return "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "?" for c in text or ""
    )


@lru_cache(maxsize=4)
def _cache_extensions(quotes: Quotes) -> str:
    """The Cache-Control extensions, formatted once per service (hashed by identity)."""
    return (
        f", stale-while-revalidate={quotes.stale_while_revalidate}"
        f", stale-if-error={quotes.stale_if_error}"
    )


def _headers(quote: Quote, etag: str, extensions: str) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "X-Cache": quote.state,
        "Cache-Control": f"max-age={quote.max_age}{extensions}",
        "ETag": etag,
        "Last-Modified": http_date(quote.modified),
    }
    if quote.state is CacheState.STALE:
        headers["Age"] = str(quote.age)
        headers["Warning"] = (
            f'110 stock-ticker "Response is Stale: {_quotable(quote.stale_reason)}"'
        )
    return headers


@docs(
    tags=["operations"],
    operation_id="get_healthz",
    summary="Liveness: the process answers. Never calls the upstream.",
)
@response_schema(HealthSchema, 200, description="Alive.")
async def healthz(request: web.Request) -> web.Response:
    return web.Response(body=_OK, content_type="application/json")


@docs(
    tags=["operations"],
    operation_id="get_readyz",
    summary="Readiness: 503 from the moment shutdown begins, so traffic drains away first.",
)
@response_schema(HealthSchema, 200, description="Ready for traffic.")
@response_schema(ProblemSchema, 503, description="Shutting down.")
async def readyz(request: web.Request) -> web.Response:
    if request.app[LIFECYCLE].draining:
        raise Problem(503, "Shutting down", "this instance is draining", "draining")
    return web.Response(body=_READY, content_type="application/json")


@docs(
    tags=["operations"],
    operation_id="get_metrics",
    summary="Prometheus metrics (text format), when ENABLE_METRICS is on.",
    responses={
        200: {
            "description": "Prometheus text exposition format.",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
)
async def metrics(request: web.Request) -> web.Response:
    body, content_type = await request.app[METRICS].render()
    response = web.Response(body=body)
    response.headers["Content-Type"] = content_type
    return response
