"""Middlewares, outermost first: envelope (request id, security headers, problem rendering) →
metrics → problem_responses (transport limits; every exception becomes a `Problem`)."""

from __future__ import annotations

import logging
import re
import time
import uuid

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from stock_ticker.observability.metrics import Metrics
from stock_ticker.service import BudgetExhausted
from stock_ticker.upstream import UpstreamError
from stock_ticker.web import problems
from stock_ticker.web.problems import Problem
from stock_ticker.web.state import REQUEST_ID, REQUESTED_SYMBOL

log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's id is echoed only if it is short and plain, so it cannot forge log lines or headers.
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
MAX_TARGET_BYTES = 2048
MAX_HEADER_BYTES = 8192
ALLOWED_METHODS = frozenset({"GET", "HEAD"})

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


def _request_id(request: web.Request) -> str:
    given = request.headers.get(REQUEST_ID_HEADER)
    if given is not None and _SAFE_REQUEST_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


def _check_limits(request: web.Request) -> None:
    if request.method not in ALLOWED_METHODS:
        raise Problem(
            405,
            "Method Not Allowed",
            "this API answers GET and HEAD only",
            headers={"Allow": "GET, HEAD"},
        )
    if len(request.raw_path) > MAX_TARGET_BYTES:
        raise Problem(414, "URI Too Long", f"the request target exceeds {MAX_TARGET_BYTES} bytes")
    size = sum(len(k) + len(v) for k, v in request.raw_headers)
    if size > MAX_HEADER_BYTES:
        raise Problem(
            431,
            "Request Header Fields Too Large",
            f"the request headers exceed {MAX_HEADER_BYTES} bytes",
        )


def envelope(docs_prefixes: tuple[str, ...]) -> Middleware:
    """Request id, transport limits and security headers, on every response including errors."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        request_id = _request_id(request)
        request[REQUEST_ID] = request_id
        try:
            response = await handler(request)
        except Problem as problem:
            response = problem.to_response(request, request_id)
        response.headers[REQUEST_ID_HEADER] = request_id
        response.headers.update(_SECURITY_HEADERS)
        response.headers["Content-Security-Policy"] = (
            DOCS_CSP if request.path.startswith(docs_prefixes) else API_CSP
        )
        return response

    return middleware


def metrics(registry: Metrics) -> Middleware:
    """Count and time every request by method, route template and status."""
    in_progress = {m: registry.http_in_progress.labels(method=m) for m in ALLOWED_METHODS}

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        method = request.method if request.method in ALLOWED_METHODS else "OTHER"
        route = _route_template(request)
        gauge = in_progress.get(method) or registry.http_in_progress.labels(method=method)
        gauge.inc()
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except Problem as problem:
            status = problem.status
            raise
        finally:
            gauge.dec()
            registry.http_requests.labels(method, route, str(status)).inc()
            registry.http_duration.labels(method, route).observe(time.perf_counter() - started)

    return middleware


def _route_template(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def problem_responses(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every exception into a problem: framework 4xx, upstream faults, and the unexpected."""
    try:
        _check_limits(request)
        return await handler(request)
    except Problem:
        raise
    except web.HTTPError as exc:  # 4xx/5xx only: a redirect passes through as it is
        raise problems.from_http_exception(exc) from None
    except (UpstreamError, BudgetExhausted) as exc:
        raise problems.from_upstream(exc, request.get(REQUESTED_SYMBOL, "")) from None
    except Exception:
        log.exception("unhandled error", extra={"request_id": request.get(REQUEST_ID)})
        raise problems.internal_error() from None
