"""One run: the processes, then the scenarios `--only` selected, in order, into one Report.

The warm-type scenarios (warm, conditional, redis), the stampede and start-up share one service
and one baseline, started first; the warm ones contribute measures to the same rounds (redis: a
second service with REDIS_URL set, next to the first; --compare-src: a service from another
checkout, its loads next to this code's). Issue 11's stampede across three processes
sharing the redis-server follows the main service's; the issue 9 scenarios start services of
their own. Only 127.0.0.1 is ever contacted; every loop is bounded
in count and time; whatever was started is stopped, whatever happens.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from bench.console import say, timed
from bench.machine import command_line, load_average, load_average_around, machine
from bench.options import Options
from bench.paths import DOCS_JSON
from bench.processes import Fleet
from bench.results import (
    Abandoned,
    Conditional,
    Failure,
    OlderCode,
    Primed,
    Report,
    RoundRun,
    SharedStore,
    SharedWarm,
    Soak,
    Stampede,
    Startup,
    WarmRow,
)
from bench.rounds import Measure, deduplicated, run_rounds, summarise, warm_up
from bench.scenarios import conditional, older_code, shared_store, warm
from bench.scenarios.abandoned import abandoned_clients
from bench.scenarios.failure import failing_upstream
from bench.scenarios.memory import soak
from bench.scenarios.stampede import stampede
from bench.scenarios.startup import startup
from bench.upstream_control import FakeUpstream
from bench.workload import allowed_symbols
from bench.wrk import Wrk, find_wrk

WARM_TYPES = {"warm", "conditional", "redis"}
ON_THE_MAIN_SERVICE = WARM_TYPES | {"stampede", "startup"}


def run(options: Options, log_dir: Path, argv: Sequence[str]) -> Report:
    """Measure; the report's targets are judged afterwards (judging.py)."""
    before = load_average()
    date = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    selected = set(options.only)
    shared: SharedStore | None = None
    redis_server = shared_store.find_redis_server() if "redis" in selected else None
    if "redis" in selected and redis_server is None:
        say(f"redis scenario skipped: {shared_store.MISSING}")
        shared = SharedStore(skipped=shared_store.MISSING)
        selected.discard("redis")
    wrk = Wrk(find_wrk(), options.threads, options.connections) if selected & WARM_TYPES else None
    host = machine(options)
    recorded = conditional.recorded(DOCS_JSON) if "conditional" in selected else None
    fleet = Fleet(log_dir, options, allowed_symbols(options.stampede_rounds))
    primed: Primed | None = None
    rows: dict[str, WarmRow] | None = None
    runs: dict[str, list[RoundRun]] | None = None
    warm_calls: int | None = None
    memory: Soak | None = None
    rss_end = baseline_rss = None
    cold: Stampede | None = None
    started: Startup | None = None
    asked: Conditional | None = None
    failure: Failure | None = None
    abandoned: Abandoned | None = None
    with_redis: shared_store.WarmWithRedis | None = None
    shared_warm: SharedWarm | None = None
    older: older_code.OlderService | None = None
    compared: OlderCode | None = None
    try:
        upstream = FakeUpstream(fleet.upstream())
        upstream.process.start()
        if selected & ON_THE_MAIN_SERVICE:
            service = fleet.service(upstream.url)
            service_startup = service.start()
            primed = warm.prime(service)
            say(f"service ready in {service_startup:.2f} s; 7-day body {primed.ndays_body_bytes} B")
            baseline = fleet.baseline(primed.ndays_body_bytes)
            baseline_startup = baseline.start()
            if redis_server is not None:
                with_redis = shared_store.WarmWithRedis.start(fleet, upstream, redis_server)
            if options.compare_src is not None:
                older = older_code.OlderService.start(fleet, upstream.url, options.compare_src)
            if wrk is not None:
                plan: list[Measure] = []
                if with_redis is not None:  # first: the two /ndays next to each other
                    plan += with_redis.measures(service, baseline)
                if older is not None:  # each load on both codes, next to each other
                    plan += older.measures(service, baseline)
                if "warm" in selected:
                    plan += warm.measures(service, baseline)
                etag = ""
                if "conditional" in selected:
                    etag = conditional.current_etag(service)
                    plan += conditional.measures(service, baseline, etag)
                plan = deduplicated(plan)
                if with_redis is not None:
                    with_redis.begin()
                say(f"warming up ({options.warmup:g} s per load)")
                warm_up(wrk, plan, options.warmup)
                calls_before = upstream.total_calls()
                checks = [conditional.check(service, etag, "before the rounds")] if etag else []
                if "warm" in selected:
                    memory = timed("memory soak", lambda: soak(wrk, service, options))
                runs = timed("warm rounds", lambda: run_rounds(wrk, plan, options))
                rows = summarise(plan, runs)
                if older is not None:
                    compared = older.compared(runs)
                    older.service.stop()
                if etag:
                    checks.append(conditional.check(service, etag, "after the rounds"))
                    asked = Conditional(conditional.PATH, etag, checks, recorded)
                warm_calls = upstream.total_calls() - calls_before
                if with_redis is not None:
                    shared_warm = with_redis.end()
                rss_end, baseline_rss = service.rss_mib(), baseline.rss_mib()
            if "stampede" in selected:
                cold = stampede(service, upstream, options)
            service.stop()
            baseline.stop()
            if with_redis is not None:
                ready = with_redis
                shared = timed(
                    "stampede across processes sharing redis-server",
                    lambda: shared_store.cluster_stampede(
                        fleet, upstream, ready, shared_warm, options
                    ),
                )
            if "startup" in selected:
                started = startup(
                    fleet,
                    upstream.url,
                    primed.ndays_body_bytes,
                    options.startup_samples,
                    (service_startup, baseline_startup),
                )
        if "failure" in selected:
            failure = timed("failing upstream", lambda: failing_upstream(fleet, upstream, options))
        if "abandoned" in selected:
            abandoned = timed(
                "abandoned clients", lambda: abandoned_clients(fleet, upstream, options)
            )
    finally:
        fleet.stop_all()
    return Report(
        date=date,
        command=command_line(argv),
        options=options,
        machine=host,
        load_average=load_average_around(before),
        primed=primed,
        warm=rows,
        warm_upstream_calls=warm_calls,
        memory=memory,
        rss_end_mib=rss_end,
        baseline_rss_mib=baseline_rss,
        stampede=cold,
        startup=started,
        failure=failure,
        abandoned=abandoned,
        conditional=asked,
        shared_store=shared,
        older=compared,
        runs=runs,
    )
