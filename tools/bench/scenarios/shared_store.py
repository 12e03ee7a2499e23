"""Issue 11: the service with REDIS_URL set, on a redis-server of the run's own.

Warm: a second service, configured as the in-process one but with REDIS_URL, primed as it is
(every spread path once) and measured in the same warm rounds, next to the in-process
service's `/ndays`, which its row is compared with (rounds.py). A third, the in-process twin,
is the in-process service again, in a process of its own: two processes of the same code differ
by several per cent on this kind of machine (memory layout, the core the scheduler picks), so
the in-process mode is the mean of the two, and the twin's own ratio shows the spread that
process alone makes. From before the warm-up to after
the rounds, the redis-server's own counters (INFO commandstats) must not move: a warm hit is
answered by the first tier, process memory, and never touches the store. One request before
and one after the rounds show X-Cache HIT.

Cold: three service processes share the redis-server and the fake upstream; per round, the
stampede's clients, spread over the three ports in turn, ask at once for a symbol none of them
has (scenarios/stampede.py). The cluster's single flight must make one upstream call, and the
slowest client must have its answer within the upstream's own time plus 100 ms.

Without a redis-server on PATH the scenario is skipped, with a line in the report; with CI=true
that is an error instead, since CI installs one.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.clients import burst
from bench.console import say
from bench.http_client import http_get
from bench.machine import load_average, load_average_around
from bench.options import Options
from bench.processes import Fleet, ServerProcess
from bench.redis_client import command_calls, info, server_version
from bench.results import (
    SharedPriming,
    SharedStore,
    SharedWarm,
    Stampede,
    StampedeRound,
    StoreActivity,
)
from bench.rounds import Measure
from bench.scenarios.stampede import stampede_rounds
from bench.scenarios.warm import NDAYS, ndays_measures, prime
from bench.upstream_control import FakeUpstream
from bench.workload import SHARED_COLD_PREFIX, SHARED_WARM_UP_PREFIX, cold_symbol

SERVICE_NAME = "service-redis"  # its rows in the warm table: "service-redis:ndays"
TWIN_NAME = "service-twin"  # the in-process service again, in a process of its own
SERVICES = 3  # processes sharing the store in the stampede
MISSING = "no redis-server on PATH (apt-get install redis-server)"
STORE_LOGGER = b'"logger":"stock_ticker.service.shared.link"'  # "unreachable" is its warning


def find_redis_server() -> str | None:
    """The redis-server to start, or None (the scenario is skipped); CI must have one."""
    found = shutil.which("redis-server")
    if found is None and os.environ.get("CI") == "true":
        raise SystemExit(f"the redis scenario needs redis-server: {MISSING}")
    return found


def redis_url(redis: ServerProcess) -> str:
    return f"redis://127.0.0.1:{redis.port}/0"


def _counts_since(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    moved = {name: calls - before.get(name, 0) for name, calls in after.items()}
    return {name: calls for name, calls in sorted(moved.items()) if calls}


def _x_cache(service: ServerProcess, symbol: str | None = None) -> str | None:
    path = NDAYS.path if symbol is None else f"{NDAYS.path}?symbol={symbol}"
    answer = http_get(service.url + path, timeout=10)
    if answer.status != 200:
        raise RuntimeError(f"{service}: {path} answered {answer.status}")
    return answer.headers.get("x-cache")


@dataclass
class WarmWithRedis:
    """The warm side: a redis-server and one service using it, both started and primed."""

    redis: ServerProcess
    service: ServerProcess
    twin: ServerProcess
    upstream: FakeUpstream
    _before: tuple[str | None, dict[str, int], int] | None = field(default=None, repr=False)

    @classmethod
    def start(cls, fleet: Fleet, upstream: FakeUpstream, binary: str) -> WarmWithRedis:
        redis = fleet.redis(binary)
        redis.start()
        service = fleet.service(upstream.url, {"REDIS_URL": redis_url(redis)}, name=SERVICE_NAME)
        service.start()
        primed = prime(service)  # as the in-process one: its cache holds the same entries
        twin = fleet.service(upstream.url, name=TWIN_NAME)
        twin.start()
        prime(twin)
        say(
            f"{server_version(redis.port)} on port {redis.port}; {service.name} primed: "
            f"X-Cache {primed.x_cache}; {twin.name} primed"
        )
        return cls(redis, service, twin, upstream)

    def measures(self, service: ServerProcess, baseline: ServerProcess) -> list[Measure]:
        """The in-process `/ndays` (and its baseline), then the same load with REDIS_URL set and
        on the in-process twin, each compared with it: next to each other in every round."""
        reference, in_process = ndays_measures(service, baseline)
        with_redis = Measure(self.service, NDAYS, "warm /ndays, REDIS_URL set", in_process.key)
        twin = Measure(self.twin, NDAYS, "warm /ndays, in-process twin", in_process.key)
        return [reference, in_process, with_redis, twin]

    def begin(self) -> None:
        """Before the warm-up: what the store and the upstream have seen so far."""
        self._before = (
            _x_cache(self.service),
            command_calls(self.redis.port),
            self.upstream.total_calls(),
        )

    def end(self) -> SharedWarm:
        """After the rounds: what moved since `begin`."""
        assert self._before is not None, "begin() first"
        x_cache_before, commands, calls = self._before
        x_cache_after = _x_cache(self.service)  # a warm hit too: counted
        moved = _counts_since(commands, command_calls(self.redis.port))
        result = SharedWarm(
            row=f"{self.service.name}:{NDAYS.key}",
            compared_with=f"service:{NDAYS.key}",
            twin=f"{self.twin.name}:{NDAYS.key}",
            x_cache_before=x_cache_before,
            x_cache_after=x_cache_after,
            redis_commands=moved,
            upstream_calls=self.upstream.total_calls() - calls,
        )
        say(
            f"warm rounds with REDIS_URL: {result.redis_command_count} Redis command(s) "
            f"{moved or ''}, {result.upstream_calls} upstream call(s), X-Cache "
            f"{result.x_cache_before} before, {result.x_cache_after} after"
        )
        return result


def warm_up_cluster(
    services: Sequence[ServerProcess], upstream: FakeUpstream, clients: int
) -> SharedPriming:
    """Before the measured rounds, as the main service has before its stampede: each process
    fetches a cold symbol of its own (its first upstream call and lease), then `/ndays` on each
    in turn (the entry the warm service wrote: the shared tier should answer, no upstream call),
    then a warm burst of `clients` over all of them."""
    calls_before = upstream.total_calls()
    own = [
        _x_cache(service, symbol)
        for service, symbol in zip(services, warm_up_symbols(len(services)), strict=True)
    ]
    own_calls = upstream.total_calls() - calls_before
    shared = [_x_cache(service) for service in services]
    shared_calls = upstream.total_calls() - calls_before - own_calls
    answers = burst([s.port for s in services], NDAYS.path, clients)
    say(
        f"processes sharing redis-server primed: a symbol of their own {own} ({own_calls} "
        f"upstream call(s)), then {NDAYS.path} {shared} ({shared_calls})"
    )
    if any(status != 200 for status in answers.statuses):
        raise RuntimeError(f"warm burst over the processes: statuses {set(answers.statuses)}")
    return SharedPriming(
        x_cache=shared, upstream_calls=shared_calls, own_x_cache=own, own_upstream_calls=own_calls
    )


def warm_up_symbols(count: int) -> list[str]:
    return [cold_symbol(i, SHARED_WARM_UP_PREFIX) for i in range(count)]


def _store_round(
    services: Sequence[ServerProcess],
    upstream: FakeUpstream,
    redis: ServerProcess,
    symbol: str,
    clients: int,
) -> tuple[StampedeRound, StoreActivity]:
    """One stampede round, with what the store saw of it and what the services logged."""
    offsets = [service.log_path.stat().st_size for service in services]
    commands = command_calls(redis.port)
    connections = _connections_received(redis)
    (cold,) = stampede_rounds(services, upstream, [symbol], clients).rounds
    activity = StoreActivity(
        symbol=symbol,
        commands=_counts_since(commands, command_calls(redis.port)),
        connections=_connections_received(redis) - connections,
        store_down_logged=sum(
            _store_down_lines(service, offset)
            for service, offset in zip(services, offsets, strict=True)
        ),
    )
    say(
        f"  the store saw {activity.command_count} command(s) {activity.commands}, "
        f"{activity.connections} new connection(s); {activity.store_down_logged} "
        '"shared store unreachable" log line(s)'
    )
    return cold, activity


def _connections_received(redis: ServerProcess) -> int:
    return int(info(redis.port, "stats")["total_connections_received"])


def _store_down_lines(service: ServerProcess, offset: int) -> int:
    """The service's warnings that the shared store did not answer, written after `offset`."""
    count = 0
    with service.log_path.open("rb") as log:
        log.seek(offset)
        for line in log:
            if STORE_LOGGER in line and json.loads(line).get("level") == "WARNING":
                count += 1
    return count


def cluster_stampede(
    fleet: Fleet,
    upstream: FakeUpstream,
    warm: WarmWithRedis,
    shared_warm: SharedWarm | None,
    options: Options,
) -> SharedStore:
    """The warm service stopped, three fresh ones on the same store, one cold symbol a round;
    the redis-server stopped at the end."""
    warm.service.stop()
    before = load_average()
    symbols = [cold_symbol(i, SHARED_COLD_PREFIX) for i in range(options.stampede_rounds)]
    url = redis_url(warm.redis)
    allowed = [*symbols, *warm_up_symbols(SERVICES)]
    services = [
        fleet.service(upstream.url, {"REDIS_URL": url}, allowed, name=f"{SERVICE_NAME}-{i + 1}")
        for i in range(SERVICES)
    ]
    try:
        for service in services:
            service.start()
        primed = warm_up_cluster(services, upstream, options.stampede_clients)
        measured = [
            _store_round(services, upstream, warm.redis, symbol, options.stampede_clients)
            for symbol in symbols
        ]
    finally:
        for service in services:
            service.stop()
    version = server_version(warm.redis.port)
    warm.redis.stop()
    return SharedStore(
        server=version,
        warm=shared_warm,
        services=len(services),
        primed=primed,
        stampede=Stampede.of([cold for cold, _ in measured]),
        stampede_store=[activity for _, activity in measured],
        load_average=load_average_around(before),
    )
