"""Issue 9: the first requests after expiry while the upstream answers HTTP 500 or hangs.

Per case, in a service process of its own (a failed refresh rests the upstream for every
symbol), a symbol is fetched once (upstream answering), the upstream is switched to
failing, the TTL is waited out, then 1 or 200 clients on open connections ask at once. Then the
bench waits until the failing refresh is over and sends one more request, which should meet
the symbol's rest: answered at once, no upstream call.
"""

from __future__ import annotations

import time

from bench.clients import burst
from bench.console import say
from bench.http_client import http_get
from bench.machine import load_average, load_average_around
from bench.options import Options
from bench.processes import Fleet, ServerProcess
from bench.results import Failure, FailureCase, NextRequest
from bench.scenarios.short_ttl import UPSTREAM_DEADLINE_S, prime_symbol, start_service, wait_out_ttl
from bench.stats import median
from bench.upstream_control import FakeUpstream

MODES = ("500", "hang")
REFRESH_QUIET_S = 2.0  # no upstream call open or begun for this long: the refresh is over


def case_symbol(mode: str, clients: int) -> str:
    return f"F{mode.upper()}-{clients}"[:10]


def wait_until_quiet(upstream: FakeUpstream, symbol: str, bound: float) -> float | None:
    """Wait until no upstream call for `symbol` is open and none began or ended for
    REFRESH_QUIET_S, at most `bound` seconds; return how long ago the last call ended."""
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        stats = upstream.stats()
        idle = stats.idle_seconds.get(symbol)
        if not stats.open.get(symbol) and idle is not None and idle >= REFRESH_QUIET_S:
            return idle
        time.sleep(0.1)
    return None


def failing_case(
    service: ServerProcess, upstream: FakeUpstream, mode: str, clients: int
) -> FailureCase:
    symbol = case_symbol(mode, clients)
    upstream.set_mode("ok")
    fetched = prime_symbol(service, symbol)
    upstream.set_mode(mode)
    wait_out_ttl(fetched)
    calls_before = upstream.calls(symbol)
    started = time.monotonic()
    answers = burst(
        [service.port], f"/ndays?symbol={symbol}", clients, timeout=UPSTREAM_DEADLINE_S + 15
    )
    answered = time.monotonic()
    # The failing refresh may go on after the clients had their STALE (upstream hanging): the
    # next request is meant to meet the rest that follows its failure, so wait for its end.
    idle = wait_until_quiet(upstream, symbol, bound=UPSTREAM_DEADLINE_S + 5)
    ended = time.monotonic() - idle if idle is not None else None
    refresh_calls = upstream.calls(symbol) - calls_before
    sent = time.monotonic()
    timer = time.perf_counter()
    answer = http_get(f"{service.url}/ndays?symbol={symbol}", timeout=30)
    next_seconds = time.perf_counter() - timer
    time.sleep(0.2)  # a call it started would have reached the fake by now
    next_calls = upstream.calls(symbol) - calls_before - refresh_calls
    upstream.set_mode("ok")
    statuses = answers.statuses
    result = FailureCase(
        upstream=mode,
        symbol=symbol,
        clients=len(answers.latencies),
        first_s=min(answers.latencies),
        median_s=median(answers.latencies),
        slowest_s=max(answers.latencies),
        statuses={str(k): statuses.count(k) for k in sorted(set(statuses))},
        x_cache=answers.x_cache,
        all_200_stale=all(s == 200 for s in statuses) and set(answers.x_cache) == {"STALE"},
        upstream_calls=refresh_calls,
        refresh_ended=ended is not None,
        refresh_seconds=(ended - started) if ended is not None else None,
        next=NextRequest(
            sent_after_answers_s=sent - answered,
            seconds=next_seconds,
            status=answer.status,
            x_cache=answer.headers.get("x-cache", "?"),
            upstream_calls=next_calls,
        ),
    )
    lasted = result.refresh_seconds
    refresh = "did not end" if lasted is None else f"{lasted:.1f} s"
    say(
        f"failing upstream {mode:4} {clients:3} client(s): first {result.first_s:.2f} s, "
        f"slowest {result.slowest_s:.2f} s, {answers.x_cache}, {refresh_calls} upstream call(s), "
        f"refresh {refresh}; next request {next_seconds * 1000:.1f} ms "
        f"{answer.status} {result.next.x_cache} ({next_calls} call(s))"
    )
    return result


def failing_upstream(fleet: Fleet, upstream: FakeUpstream, options: Options) -> Failure:
    plan = [(mode, n) for mode in MODES for n in (1, options.failure_clients)]
    before = load_average()
    cases = []
    for mode, clients in plan:
        # A failed refresh rests the upstream and holds off every call: a process per case.
        service = start_service(fleet, upstream.url, [case_symbol(mode, clients)])
        try:
            cases.append(failing_case(service, upstream, mode, clients))
        finally:
            upstream.set_mode("ok")
            service.stop()
    return Failure.of(cases, load_average_around(before))
