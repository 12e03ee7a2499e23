"""Issue 9: upstream hanging, impatient clients: the service's memory and liveness.

For a cold symbol (never fetched) and a stale one (fetched, TTL passed), each on a fresh
service: 1,000 new clients a second ask for it and leave after 0.5 s, while the prober
(prober.py) watches `/healthz`, VmRSS and the waiting-requests gauge from the start of the load
until the service has no request left in progress (at most the deadline + 10 s) and 1 s more.
"""

from __future__ import annotations

import time

from bench.clients import impatient
from bench.console import say
from bench.http_client import http_get
from bench.machine import load_average, load_average_around
from bench.options import Options
from bench.prober import PROBE_INTERVAL_S, ProbeSamples, metrics_figures, prober
from bench.processes import Fleet, ServerProcess
from bench.results import Abandoned, AbandonedRun, ImpatientLoad
from bench.scenarios.short_ttl import UPSTREAM_DEADLINE_S, prime_symbol, start_service, wait_out_ttl
from bench.stats import percentile
from bench.upstream_control import FakeUpstream

KINDS = ("cold", "stale")
SLOW_PROBE_MS = 50.0  # probes at least this slow are listed with their time in the JSON


def settle(service: ServerProcess, bound: float) -> float | None:
    """Seconds until the service has no request in progress but the scrape asking, or None."""
    started = time.perf_counter()
    while time.perf_counter() - started < bound:
        try:
            answer = http_get(service.url + "/metrics", timeout=5)
        except OSError:
            answer = None
        if answer is not None and answer.status == 200:
            busy = metrics_figures(answer.body.decode()).in_progress or 0
            if busy <= 1:
                return time.perf_counter() - started
        time.sleep(0.25)
    return None


def abandoned_run(
    fleet: Fleet, upstream: FakeUpstream, kind: str, options: Options
) -> AbandonedRun:
    """One run on a fresh service."""
    symbol = f"AB-{kind.upper()}"
    upstream.set_mode("ok")
    service = start_service(fleet, upstream.url, [symbol])
    try:
        for _ in range(50):  # the ordinary paths once, so that "before" is a warmed-up process
            http_get(service.url + "/healthz")
        http_get(service.url + "/metrics")
        prime_symbol(service, "MSFT")
        fetched = prime_symbol(service, symbol) if kind == "stale" else time.monotonic()
        upstream.set_mode("hang")
        wait_out_ttl(fetched)
        calls_before = upstream.calls(symbol)
        rss_before = service.rss_mib()
        settle_bound = UPSTREAM_DEADLINE_S + 10
        with prober(service, options.abandoned_seconds + settle_bound + 30) as stop_probing:
            time.sleep(1.0)  # a second of probes before the load, for comparison
            load_started = time.monotonic()
            cpu_before = service.cpu_seconds()
            load = impatient(
                service.port,
                f"/ndays?symbol={symbol}",
                options.abandoned_rate,
                options.abandoned_seconds,
                options.abandoned_patience,
            )
            load_ended = time.monotonic()
            service_cpu = service.cpu_seconds() - cpu_before
            settled = settle(service, settle_bound)
            time.sleep(1.0)
            rss_after = service.rss_mib()
            settle_ended = time.monotonic()
            samples = stop_probing()
        final = metrics_figures(http_get(service.url + "/metrics").body.decode())
        calls = upstream.calls(symbol) - calls_before
    finally:
        upstream.set_mode("ok")
        service.stop()
    result = _result(
        symbol=symbol,
        kind=kind,
        load=load,
        samples=samples,
        window=(load_started, load_ended, settle_ended),
        service_cpu=service_cpu,
        settled=settled,
        calls=calls,
        rss=(rss_before, rss_after),
        overflow_total=final.overflow,
    )
    say(
        f"abandoned clients, {kind} symbol: {load.launched:,} launched at "
        f"{load.achieved_rate:,.0f}/s ({load.connected_rate:,.0f} connected/s), answers "
        f"{load.answer_statuses or 'none'}; RSS {rss_before:.1f} → peak {result.rss_peak_mib:.1f}"
        f" → {rss_after:.1f} MiB; /healthz p50 {result.healthz_ms_p50:.1f} p99 "
        f"{result.healthz_ms_p99:.1f} max {result.healthz_ms_max:.1f} ms "
        f"({result.healthz_failed} failed); waiting peak {result.waiting_peak}; "
        f"service CPU {result.service_cpu_share:.0%}, client CPU {load.client_cpu_share:.0%}"
    )
    return result


def _result(
    *,
    symbol: str,
    kind: str,
    load: ImpatientLoad,
    samples: ProbeSamples,
    window: tuple[float, float, float],
    service_cpu: float,
    settled: float | None,
    calls: int,
    rss: tuple[float, float],
    overflow_total: float | None,
) -> AbandonedRun:
    """The run's figures from the prober's samples within the window (load start, load end,
    end of settling; time.monotonic)."""
    load_started, load_ended, settle_ended = window
    rss_before, rss_after = rss
    during = [s for s in samples.healthz if load_started <= s[0] <= settle_ended]
    idle = [s[1] for s in samples.healthz if s[0] < load_started and s[1] is not None]
    probes = [s[1] * 1000 for s in during if s[1] is not None]
    rss_samples = [m for t, m in samples.rss if t >= load_started]
    waiting = [m.waiting for t, m in samples.metrics if t >= load_started and m.waiting is not None]
    rss_peak = max([rss_before, rss_after, *rss_samples])
    return AbandonedRun(
        symbol=symbol,
        kind=kind,
        load=load,
        load_seconds=load_ended - load_started,
        service_cpu_share=service_cpu / (load_ended - load_started),
        settled_after_s=settled,
        upstream_calls=calls,
        rss_before_mib=rss_before,
        rss_peak_mib=rss_peak,
        rss_after_mib=rss_after,
        rss_growth_mib=rss_peak - rss_before,
        rss_samples=len(rss_samples),
        healthz_probes=len(during),
        healthz_failed=sum(1 for s in during if s[1] is None),
        healthz_skipped_ticks=samples.skipped,
        healthz_ms_p50=percentile(probes, 0.50),
        healthz_ms_p99=percentile(probes, 0.99),
        healthz_ms_max=max(probes, default=float("nan")),
        healthz_idle_ms_p50=percentile([s * 1000 for s in idle], 0.50),
        waiting_peak=max(waiting) if waiting else None,
        waiting_samples=len(waiting),
        overflow_total=overflow_total,
        healthz_slow_probes=[
            (round(t - load_started, 2), round(seconds * 1000, 1))
            for t, seconds in during
            if seconds is not None and seconds * 1000 >= SLOW_PROBE_MS
        ][:100],
        rss_mib_per_second=[
            (round(t - load_started, 1), round(mib, 1))
            for t, mib in samples.rss[:: int(1 / PROBE_INTERVAL_S)]
        ],
        waiting_timeline=[
            (round(t - load_started, 1), m.waiting)
            for t, m in samples.metrics
            if m.waiting is not None
        ],
    )


def abandoned_clients(fleet: Fleet, upstream: FakeUpstream, options: Options) -> Abandoned:
    before = load_average()
    runs = {kind: abandoned_run(fleet, upstream, kind, options) for kind in KINDS}
    return Abandoned(
        runs=runs,
        seconds=options.abandoned_seconds,
        rate=options.abandoned_rate,
        patience_s=options.abandoned_patience,
        load_average=load_average_around(before),
    )
