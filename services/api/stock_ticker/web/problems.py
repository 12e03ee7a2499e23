"""RFC 9457 problem details: every error the API answers, built in one place."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import orjson
from aiohttp import web

from stock_ticker.service import (
    BudgetExhausted,
    MalformedResponse,
    TooManyWaiting,
    UnknownSymbol,
    UpstreamError,
    UpstreamRejected,
    UpstreamThrottled,
    UpstreamTimeout,
)

PROBLEM_JSON = "application/problem+json"
_URN = "urn:stock-ticker:problem:"
#: Retry-After when the upstream is down and said nothing about when to come back.
DEFAULT_RETRY_AFTER_SECONDS = 10


@dataclass
class Problem(Exception):
    """An error answer. Raise it anywhere in the web layer; the problem middleware renders it."""

    status: int
    title: str
    detail: str
    slug: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    invalid_params: list[dict[str, str]] | None = None

    @property
    def type(self) -> str:
        return _URN + self.slug if self.slug else "about:blank"

    def to_response(self, request: web.Request, request_id: str) -> web.Response:
        body: dict[str, object] = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "instance": request.path,
            "request_id": request_id,
        }
        if self.invalid_params is not None:
            body["invalid_params"] = self.invalid_params
        response = web.Response(status=self.status, body=orjson.dumps(body), headers=self.headers)
        response.content_type = PROBLEM_JSON
        return response


def invalid_parameter(errors: dict[str, list[str]]) -> Problem:
    params = [{"name": name, "reason": "; ".join(reasons)} for name, reasons in errors.items()]
    detail = "; ".join(f"{p['name']}: {p['reason']}" for p in params)
    return Problem(
        400, "Invalid query parameter", detail, "invalid-parameter", invalid_params=params
    )


def symbol_not_allowed(symbol: str) -> Problem:
    return Problem(
        403,
        "Symbol not allowed",
        f"{symbol} is not in this service's ALLOWED_SYMBOLS (the operator can add it, or '*')",
        "symbol-not-allowed",
    )


def from_upstream(exc: UpstreamError | BudgetExhausted | TooManyWaiting, symbol: str) -> Problem:
    """Map a service or upstream failure to the status a client should act on. Whenever we
    know when trying again can help, `Retry-After` says so; a 503 always carries one."""
    retry_after = exc.retry_after
    if isinstance(exc, UnknownSymbol):
        detail = f"the upstream does not know {symbol}"
        if exc.available:  # only the bundled sample data names what it has
            detail = f"the sample data has no {symbol}; available: {', '.join(exc.available)}"
        return Problem(404, "Unknown symbol", detail, "unknown-symbol")
    headers = {} if not retry_after else {"Retry-After": _seconds(retry_after)}
    if isinstance(exc, UpstreamTimeout):
        return Problem(504, "Upstream timeout", exc.detail, "upstream-timeout", headers)
    if isinstance(exc, UpstreamRejected | MalformedResponse):
        return Problem(502, "Bad upstream answer", exc.detail, "upstream-bad-answer", headers)
    headers = {"Retry-After": _seconds(retry_after or DEFAULT_RETRY_AFTER_SECONDS)}
    if isinstance(exc, BudgetExhausted):
        return Problem(503, "Upstream budget spent", exc.detail, "upstream-budget", headers)
    if isinstance(exc, TooManyWaiting):
        return Problem(503, "Too many waiting", exc.detail, "refresh-queue-full", headers)
    if isinstance(exc, UpstreamThrottled):
        return Problem(503, "Upstream throttled", exc.detail, "upstream-throttled", headers)
    return Problem(503, "Upstream unavailable", exc.detail, "upstream-unavailable", headers)


def _seconds(retry_after: float) -> str:
    return str(max(1, math.ceil(retry_after)))


def from_http_exception(exc: web.HTTPException) -> Problem:
    """Turn aiohttp's own 4xx (unknown route, wrong method, too large) into a problem."""
    headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else {}
    detail = {404: "no such route", 405: "method not allowed on this route"}.get(
        exc.status, exc.text or exc.reason
    )
    return Problem(exc.status, exc.reason, detail, headers=headers)


def internal_error() -> Problem:
    return Problem(500, "Internal Server Error", "unexpected error; see the service log")
