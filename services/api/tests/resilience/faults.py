"""The fault matrix: every way the upstream can fail, and what a client must see for it.

Shared by the in-process matrix (`test_fault_matrix.py`) and the secrets sweep through the real
process (`test_secrets.py`). The upstream's notices are its real texts (support/upstream_texts.py);
each class is exercised with its real phrasing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from stock_ticker.service.hold_offs import REST_BASE_SECONDS
from stock_ticker.upstream.parsing import THROTTLE_RETRY_AFTER_SECONDS
from tests.support import builders
from tests.support.builders import brief_meta, daily_doc, series_body
from tests.support.fake_upstream import Reply
from tests.support.upstream_texts import (
    BAD_KEY_BODY,
    BURST_LIMIT_BODY,
    DAILY_LIMIT_BODY,
    DEMO_KEY_BODY,
    INVALID_CALL_BODY,
    OLD_NOTE_BODY,
    PREMIUM_BODY,
)

PROBLEM = "urn:stock-ticker:problem:"
#: One header above aiohttp's client limit (8190 bytes a field).
OVERSIZED_HEADERS = {"X-Padding": "x" * 9000}


def with_rows(symbol: str, rows: dict[str, dict[str, str]]) -> dict[str, Any]:
    """A series document with exactly these rows (in this key order)."""
    return daily_doc(rows, meta_data=brief_meta(symbol))


def row(close: str) -> dict[str, str]:
    """A row whose other prices are 1: only the close is odd."""
    return builders.row(close, open_="1", high="1", low="1", volume="10")


def duplicate_dates_body() -> bytes:
    """JSON with one date twice: a dict cannot hold it, so the text is written by hand."""
    one = json.dumps(row("5"))
    two = json.dumps(row("6"))
    return (
        '{"Meta Data": {"3. Last Refreshed": "2026-11-27"}, "Time Series (Daily)": '
        f'{{"2026-11-27": {one}, "2026-11-26": {one}, "2026-11-27": {two}}}}}'
    ).encode()


@dataclass(frozen=True)
class Fault:
    """One upstream failure and the answer a client gets when there is no stale copy."""

    id: str
    status: int
    slug: str
    title: str
    #: Words the problem `detail` must contain, so it says what went wrong.
    detail_has: str
    #: What the upstream answers (scripted for one call); empty with `refuse`.
    replies: tuple[Reply, ...] = ()
    #: Nothing listens: the upstream's port refuses connections.
    refuse: bool = False
    #: Retry-After the client is given with the first answer: the rest the failure starts, or
    #: longer if the upstream asked; none for an unknown symbol.
    retry_after: int | None = None
    #: The per-attempt timeout to configure (short for the stall, generous otherwise).
    timeout: float = 2.0
    #: After the failure, how long the symbol rests without a call: requests get the stale
    #: copy, or the same problem with the time left; 0 for an unknown symbol (remembered instead).
    rest: float = REST_BASE_SECONDS
    #: Is the answer remembered for NEGATIVE_CACHE_SECONDS (an unknown symbol)?
    remembered: bool = False
    #: Does the failure hold off every upstream call, not just this symbol's (a throttle, an
    #: HTTP 429/503 with Retry-After, or a transient fault: the upstream itself rests)?
    throttle: bool = False

    @property
    def calls(self) -> int:
        """Upstream calls the failing refresh makes (one attempt: the matrix allows no retry)."""
        return 0 if self.refuse else len(self.replies)


def _unavailable(
    fault_id: str, detail: str, retry_after: int = 10, *, throttle: bool = True, **kw: Any
) -> Fault:
    return Fault(
        fault_id,
        503,
        "upstream-unavailable",
        "Upstream unavailable",
        detail,
        retry_after=retry_after,
        throttle=throttle,
        **kw,
    )


def _bad_answer(fault_id: str, detail: str, reply: Reply) -> Fault:
    return Fault(
        fault_id,
        502,
        "upstream-bad-answer",
        "Bad upstream answer",
        detail,
        (reply,),
        retry_after=int(REST_BASE_SECONDS),  # the rest it starts, told from the first answer
    )


def _throttled(fault_id: str, body: dict[str, str]) -> Fault:
    hold = THROTTLE_RETRY_AFTER_SECONDS
    return Fault(
        fault_id,
        503,
        "upstream-throttled",
        "Upstream throttled",
        "rate limit",
        (Reply(body),),
        retry_after=int(hold),
        rest=hold,
        throttle=True,
    )


FAULTS: list[Fault] = [
    Fault(
        "timeout",
        504,
        "upstream-timeout",
        "Upstream timeout",
        "did not answer",
        (Reply(stall=True),),
        retry_after=int(REST_BASE_SECONDS),
        timeout=0.2,
        throttle=True,
    ),
    _unavailable("connection-refused", "unreachable", refuse=True),
    _unavailable("reset-mid-body", "connection failed", replies=(Reply(reset=True),)),
    _unavailable(
        "closed-without-answer",
        "without answering",
        replies=(Reply(hang_up=True),),
        throttle=False,  # not transient: the request was sent, a second would be too
    ),
    _unavailable("http-500", "HTTP 500", replies=(Reply(b"oops", status=500),)),
    _unavailable("http-502", "HTTP 502", replies=(Reply(b"bad gateway", status=502),)),
    _unavailable(
        "http-503-retry-after",
        "HTTP 503",
        retry_after=int(REST_BASE_SECONDS),  # every call holds off 7 s; this symbol rests 10
        replies=(Reply(b"busy", status=503, headers={"Retry-After": "7"}),),
        rest=REST_BASE_SECONDS,  # every call holds off 7 s; this symbol rests the usual 10
        throttle=True,
    ),
    _unavailable(
        "http-503-retry-after-a-year",
        "HTTP 503",
        retry_after=3600,  # honoured, and announced, up to MAX_HOLD_OFF_SECONDS (1 h)
        replies=(Reply(b"busy", status=503, headers={"Retry-After": "31536000"}),),
        rest=3600.0,  # and calls resume after that hour, not after a year
        throttle=True,
    ),
    _unavailable(
        "http-429-retry-after",
        "HTTP 429",
        retry_after=30,
        replies=(Reply(b"slow down", status=429, headers={"Retry-After": "30"}),),
        rest=30.0,  # the upstream said when to come back: every call holds off until then
        throttle=True,
    ),
    _bad_answer(
        "html-body",
        "not JSON",
        Reply(
            b"<html><body><h1>502 Bad Gateway</h1></body></html>",
            headers={"Content-Type": "text/html"},
        ),
    ),
    _bad_answer(
        "truncated-json",
        "not JSON",
        Reply(b'{"Meta Data": {"2. Symbol": "MSFT"}, "Time Series (Daily)": {"2026-11-27": {"1'),
    ),
    Fault(
        "unknown-symbol",
        404,
        "unknown-symbol",
        "Unknown symbol",
        "does not know MSFT",
        (Reply(INVALID_CALL_BODY),),
        rest=0.0,
        remembered=True,
    ),
    _throttled("throttle-note", OLD_NOTE_BODY),
    _throttled("throttle-information-daily", DAILY_LIMIT_BODY),
    _throttled("throttle-information-burst", BURST_LIMIT_BODY),
    _bad_answer("premium", "premium", Reply(PREMIUM_BODY)),
    _bad_answer("bad-key", "API key", Reply(BAD_KEY_BODY)),
    _bad_answer("demo-key", "API key", Reply(DEMO_KEY_BODY)),
    _bad_answer("empty-series", "empty", Reply(with_rows("MSFT", {}))),
    _bad_answer(
        "non-numeric-close",
        "does not parse",
        Reply(with_rows("MSFT", {"2026-11-27": row("N/A"), "2026-11-26": row("5")})),
    ),
    _bad_answer(
        "not-a-finite-close",
        "out of range",
        Reply(with_rows("MSFT", {"2026-11-27": row("NaN"), "2026-11-26": row("5")})),
    ),
    _bad_answer("duplicate-dates", "repeated the key", Reply(duplicate_dates_body())),
    _bad_answer("oversized-headers", "not valid HTTP", Reply(headers=OVERSIZED_HEADERS)),
    _bad_answer("oversized-body", "larger than any", Reply(b"[" + b" " * (3 * 1024 * 1024) + b"]")),
]


@dataclass(frozen=True)
class Quirk:
    """An odd but valid series: served as data, sorted, never mistaken for a failure."""

    id: str
    body: dict[str, Any]
    ndays: int
    closes: list[float]
    dates: list[str]


QUIRKS: list[Quirk] = [
    Quirk(
        "fewer-rows-than-asked",
        series_body("MSFT", ["30", "31"]),
        ndays=7,
        closes=[30.0, 31.0],
        dates=["2026-11-27", "2026-11-26"],
    ),
    Quirk(
        "unsorted-dates",
        with_rows(
            "MSFT",
            {
                "2026-11-25": row("25"),
                "2026-11-27": row("27"),
                "2026-11-24": row("24"),
                "2026-11-26": row("26"),
            },
        ),
        ndays=3,
        closes=[27.0, 26.0, 25.0],
        dates=["2026-11-27", "2026-11-26", "2026-11-25"],
    ),
]
