"""Cold stampede: many clients at once on a symbol nobody asked for yet.

The upstream must see one call. The slowest client is taken twice: by the client (one Python
process that also has to read every answer, so it over-states) and by the service itself (its
access log's duration_ms, from the middleware's start to the response, which leaves out the
socket and the parser).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

from bench.clients import burst
from bench.console import say
from bench.options import Options
from bench.processes import ServerProcess
from bench.results import Stampede, StampedeRound
from bench.stats import median
from bench.upstream_control import FakeUpstream
from bench.workload import cold_symbol


def handling_ms(service: ServerProcess, offset: int, route: str) -> list[float]:
    """`duration_ms` of the service's access-log lines for `route` written after `offset`."""
    durations = []
    with service.log_path.open("rb") as log:
        log.seek(offset)
        for line in log:
            if b'"stock_ticker.access"' not in line:
                continue
            entry = json.loads(line)
            if entry.get("route") == route:
                durations.append(float(entry["duration_ms"]))
    return durations


def stampede_round(
    services: Sequence[ServerProcess], upstream: FakeUpstream, symbol: str, clients: int
) -> StampedeRound:
    """One burst on `symbol`, the clients spread over `services` in turn (one, or the three
    processes sharing issue 11's store), their access logs read for their own timing."""
    calls_before = upstream.calls(symbol)
    offsets = [service.log_path.stat().st_size for service in services]
    answers = burst([s.port for s in services], f"/ndays?symbol={symbol}", clients)
    stats = upstream.stats()
    calls = stats.calls.get(symbol, 0) - calls_before
    upstream_own = stats.handling_seconds[-1] * 1000
    time.sleep(0.2)  # the service writes its log lines once per loop turn
    durations = [
        ms
        for service, offset in zip(services, offsets, strict=True)
        for ms in handling_ms(service, offset, "/ndays")
    ]
    served = max(durations, default=float("nan"))
    slowest = max(answers.latencies) * 1000
    return StampedeRound(
        symbol=symbol,
        clients=len(answers.latencies),
        upstream_calls=calls,
        non_200=sum(1 for s in answers.statuses if s != 200),
        x_cache=answers.x_cache,
        upstream_own_ms=upstream_own,
        fastest_ms=min(answers.latencies) * 1000,
        median_ms=median(answers.latencies) * 1000,
        slowest_ms=slowest,
        slowest_over_upstream_ms=slowest - upstream_own,
        service_logged=len(durations),
        service_slowest_ms=served,
        service_slowest_over_upstream_ms=served - upstream_own,
    )


def stampede_rounds(
    services: Sequence[ServerProcess],
    upstream: FakeUpstream,
    symbols: Sequence[str],
    clients: int,
) -> Stampede:
    """One round per symbol (each cold on every one of `services`)."""
    rounds = []
    for symbol in symbols:
        result = stampede_round(services, upstream, symbol, clients)
        rounds.append(result)
        say(
            f"stampede {result.symbol} on {len(services)} process(es): {result.upstream_calls} "
            f"upstream call(s), slowest client {result.slowest_ms:.1f} ms, slowest in the "
            f"services' logs {result.service_slowest_ms:.1f} ms (upstream itself "
            f"{result.upstream_own_ms:.1f} ms)"
        )
    return Stampede.of(rounds)


def stampede(service: ServerProcess, upstream: FakeUpstream, options: Options) -> Stampede:
    """One cold symbol per round."""
    symbols = [cold_symbol(round_no) for round_no in range(options.stampede_rounds)]
    return stampede_rounds([service], upstream, symbols, options.stampede_clients)
