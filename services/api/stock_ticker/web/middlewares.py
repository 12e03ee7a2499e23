"""The one middleware every request passes through.

It does, in order: request id, transport limits, the handler, every exception turned into an RFC
9457 problem, security headers, HTTP metrics and the access line. These are one middleware rather
than a stack of five because each aiohttp middleware layer costs a measurable share of a warm
`/ndays` request (see docs/benchmarks.md); the steps stay separate functions.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from itertools import chain

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from multidict import CIMultiDict, istr

from stock_ticker.observability.metrics import Metrics
from stock_ticker.service import BudgetExhausted, TooManyWaiting, UpstreamError
from stock_ticker.web import problems
from stock_ticker.web.access_log import log_access
from stock_ticker.web.problems import Problem
from stock_ticker.web.state import REQUEST_ID, REQUESTED_SYMBOL

log = logging.getLogger(__name__)

REQUEST_ID_HEADER = istr("X-Request-ID")
# A caller's id is echoed only if it is short and plain, so it cannot forge log lines or headers.
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
MAX_TARGET_BYTES = 2048
MAX_HEADER_BYTES = 8192
ALLOWED_METHODS = frozenset({"GET", "HEAD"})
#: Logged and counted for a request whose client left before the answer (nginx's 499).
CLIENT_CLOSED = 499

API_CSP = "default-src 'none'; frame-ancestors 'none'"
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Server": "stock-ticker",  # no framework or version for scanners to match
}
# Case-insensitive keys made once: adding them to each response skips lower-casing every name.
_API_HEADERS = CIMultiDict({**_SECURITY_HEADERS, "Content-Security-Policy": API_CSP})
_DOCS_HEADERS = CIMultiDict({**_SECURITY_HEADERS, "Content-Security-Policy": DOCS_CSP})


def http_envelope(metrics: Metrics, docs_prefixes: tuple[str, ...]) -> Middleware:
    """Build the middleware; `docs_prefixes` get the CSP that lets Swagger UI run."""

    stats = metrics.requests

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        method = request.method if request.method in ALLOWED_METHODS else "OTHER"
        stats.started(method)
        request_id = _request_id(request)
        request[REQUEST_ID] = request_id
        try:
            _check_limits(request)
            response = await handler(request)
        except Exception as exc:  # every failure, expected or not, becomes a problem answer
            response = as_problem(exc, request).to_response(request, request_id)
        except asyncio.CancelledError:  # the client went away (or shutdown ran out of time)
            record(request, method, CLIENT_CLOSED, None, request_id, started)
            raise
        finally:
            stats.finished(method)
        headers = response.headers
        headers[REQUEST_ID_HEADER] = request_id
        headers.update(_DOCS_HEADERS if request.path.startswith(docs_prefixes) else _API_HEADERS)
        record(request, method, response.status, headers.get("X-Cache"), request_id, started)
        return response

    def record(
        request: web.Request,
        method: str,
        status: int,
        cache: str | None,
        request_id: str,
        started: float,
    ) -> None:
        elapsed = time.perf_counter() - started
        route = _route_template(request)
        stats.observe(method, route, status, elapsed)
        log_access(request, status, cache, route, request_id, elapsed)

    return middleware


def as_problem(exc: Exception, request: web.Request) -> Problem:
    """The problem a client should see for `exc`; unexpected errors are logged, not shown."""
    if isinstance(exc, Problem):
        return exc
    if isinstance(exc, web.HTTPError):  # aiohttp's own 4xx/5xx: unknown route, wrong method
        return problems.from_http_exception(exc)
    if isinstance(exc, UpstreamError | BudgetExhausted | TooManyWaiting):
        return problems.from_upstream(exc, request.get(REQUESTED_SYMBOL, ""))
    log.error("unhandled error", exc_info=exc, extra={"request_id": request.get(REQUEST_ID)})
    return problems.internal_error()


def _request_id(request: web.Request) -> str:
    given = request.headers.get(REQUEST_ID_HEADER)
    if given is not None and _SAFE_REQUEST_ID.fullmatch(given):
        return given
    # Unique, not secret: 128 random bits without the cost of a uuid4 per request.
    return f"{random.getrandbits(128):032x}"


def _check_limits(request: web.Request) -> None:
    if request.method not in ALLOWED_METHODS and not _unrouted(request):
        raise Problem(
            405,
            "Method Not Allowed",
            "this API answers GET and HEAD only",
            headers={"Allow": "GET, HEAD"},
        )
    if len(request.raw_path) > MAX_TARGET_BYTES:
        raise Problem(414, "URI Too Long", f"the request target exceeds {MAX_TARGET_BYTES} bytes")
    if sum(map(len, chain.from_iterable(request.raw_headers))) > MAX_HEADER_BYTES:
        raise Problem(
            431,
            "Request Header Fields Too Large",
            f"the request headers exceed {MAX_HEADER_BYTES} bytes",
        )


def _unrouted(request: web.Request) -> bool:
    """No route has this path: a 404 whatever the method (aiohttp raises it in the handler)."""
    return isinstance(request.match_info.http_exception, web.HTTPNotFound)


def _route_template(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"
