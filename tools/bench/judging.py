"""The targets, judged on a run's figures; none of them is a timed test.

Each issue's targets are judged for the parts of it the run measured. A target whose figure
would mean little in this run (a short soak, a short abandoned-clients load, a ratio against a
recorded quick run) is "not judged", and its figure says why.
"""

from __future__ import annotations

from dataclasses import replace

from bench.options import FULL
from bench.results import Conditional, Report, SharedStore, Target, WarmRow
from bench.scenarios.shared_store import SERVICES
from bench.scenarios.short_ttl import STALE_WAIT_S

# Issue 5
NDAYS_RPS_RATIO = 0.6
NDAYS_P99_RATIO = 2.0
SPREAD_RPS_RATIO = 0.5
STAMPEDE_SLACK_S = 0.050
RSS_MIB = 64.0
RSS_GROWTH = 0.05
STARTUP_S = 1.0
# Issue 9
STALE_SLACK_S = 0.25
FAILING_CALLS = 2  # UPSTREAM_MAX_ATTEMPTS
REST_ANSWER_S = 0.1
ABANDONED_RSS_MIB = 64.0
HEALTHZ_P99_MS = 100.0
CLIENT_RATE_SHARE = 0.95  # the bench's own client must keep up for the figures to count
# Issue 12
NDAYS = "service:ndays"
NOT_MODIFIED = "service:ndays-304"
# Issue 11
SHARED_RPS_RATIO = 0.95  # warm /ndays with REDIS_URL set, x the in-process service's
SHARED_STAMPEDE_SLACK_S = 0.100


def judged(report: Report) -> Report:
    return replace(
        report,
        targets=issue5(report),
        targets_issue9=issue9(report),
        targets_issue12=issue12(report),
        targets_issue11=issue11(report),
    )


def issue5(report: Report) -> list[Target]:
    targets = []
    if report.warm is not None and "warm" in report.options.only:
        ndays, spread = report.warm[NDAYS], report.warm["service:spread"]
        assert ndays.rps_ratio is not None
        assert ndays.p99_ratio is not None
        assert spread.rps_ratio is not None
        targets += [
            Target(
                f"warm /ndays ≥ {NDAYS_RPS_RATIO}x baseline req/s",
                f"{ndays.rps_ratio:.2f}x ({ndays.rps:,.0f} req/s)",
                ndays.rps_ratio >= NDAYS_RPS_RATIO,
            ),
            Target(
                f"warm /ndays p99 ≤ {NDAYS_P99_RATIO:g}x baseline p99",
                f"{ndays.p99_ratio:.2f}x ({ndays.p99_ms:.2f} ms)",
                ndays.p99_ratio <= NDAYS_P99_RATIO,
            ),
            Target("warm /ndays: zero errors", f"{ndays.errors}", ndays.errors == 0),
            Target(
                f"/ndays with parameters ≥ {SPREAD_RPS_RATIO}x baseline req/s",
                f"{spread.rps_ratio:.2f}x ({spread.rps:,.0f} req/s)",
                spread.rps_ratio >= SPREAD_RPS_RATIO and spread.errors == 0,
            ),
        ]
    if report.stampede is not None:
        stamp = report.stampede
        slack_ms = STAMPEDE_SLACK_S * 1000
        targets += [
            Target(
                "cold stampede: exactly one upstream call",
                f"max {stamp.max_upstream_calls} per symbol, {stamp.non_200} non-200",
                stamp.max_upstream_calls == 1 and stamp.non_200 == 0,
            ),
            Target(
                f"cold stampede: slowest client ≤ upstream + {slack_ms:.0f} ms",
                f"+{stamp.slowest_over_upstream_ms_max:.1f} ms (worst of "
                f"{len(stamp.rounds)}; median +{stamp.slowest_over_upstream_ms_median:.1f})",
                stamp.slowest_over_upstream_ms_max <= slack_ms,
            ),
        ]
    if report.memory is not None:
        soaked = report.memory
        full_soak = soaked.requests >= FULL.soak_requests
        targets += [
            Target(
                f"RSS after warm-up ≤ {RSS_MIB:g} MiB",
                f"{soaked.rss_after_warmup_mib:.1f} MiB",
                soaked.rss_after_warmup_mib <= RSS_MIB,
            ),
            Target(
                f"RSS growth ≤ {RSS_GROWTH:.0%} over {FULL.soak_requests:,} requests",
                f"{soaked.growth:+.1%} over {soaked.requests:,}"
                + ("" if full_soak else " (short soak: indicative only)"),
                soaked.growth <= RSS_GROWTH if full_soak else None,
            ),
        ]
    if report.startup is not None:
        start = report.startup
        targets.append(
            Target(
                f"start-up to ready < {STARTUP_S:g} s",
                f"{start.service_median_s:.2f} s median, {start.service_max_s:.2f} s max",
                start.service_median_s < STARTUP_S,
            )
        )
    return targets


def issue9(report: Report) -> list[Target]:
    targets = []
    if report.failure is not None:
        cases = report.failure.cases
        limit = STALE_WAIT_S + STALE_SLACK_S
        for mode in dict.fromkeys(c.upstream for c in cases):  # in the order they ran
            mine = [c for c in cases if c.upstream == mode]
            what = "HTTP 500" if mode == "500" else "never answering"
            targets.append(
                Target(
                    f"first request after expiry, upstream {what}: slowest client ≤ "
                    f"STALE_WAIT_SECONDS + {STALE_SLACK_S:g} s = {limit:g} s",
                    "; ".join(
                        f"1 client: {c.slowest_s:.2f} s"
                        if c.clients == 1
                        else f"{c.clients} clients: first {c.first_s:.2f} s, "
                        f"slowest {c.slowest_s:.2f} s"
                        for c in mine
                    ),
                    all(c.slowest_s <= limit for c in mine),
                )
            )
        answers = sum(c.clients for c in cases)
        stale = sum(c.x_cache.get("STALE", 0) for c in cases if c.all_200_stale)
        targets += [
            Target(
                "first requests after expiry: every answer 200 STALE",
                f"{stale} of {answers}"
                + "".join(
                    f"; {c.upstream}/{c.clients}: {c.statuses} {c.x_cache}"
                    for c in cases
                    if not c.all_200_stale
                ),
                all(c.all_200_stale for c in cases),
            ),
            Target(
                f"upstream calls per failing refresh ≤ {FAILING_CALLS}",
                ", ".join(f"{c.upstream}/{c.clients}: {c.upstream_calls}" for c in cases),
                all(c.upstream_calls <= FAILING_CALLS for c in cases),
            ),
            Target(
                "request right after the failed refresh: 200 STALE at once "
                f"(≤ {REST_ANSWER_S * 1000:.0f} ms), no upstream call",
                f"max {max(c.next.seconds for c in cases) * 1000:.1f} ms, "
                + ", ".join(sorted({f"{c.next.status} {c.next.x_cache}" for c in cases}))
                + f", {sum(c.next.upstream_calls for c in cases)} calls",
                all(
                    c.next.seconds <= REST_ANSWER_S
                    and c.next.status == 200
                    and c.next.x_cache == "STALE"
                    and c.next.upstream_calls == 0
                    and c.refresh_ended
                    for c in cases
                ),
            ),
        ]
    if report.abandoned is not None:
        ab = report.abandoned
        runs = ab.runs
        full = ab.seconds >= FULL.abandoned_seconds and ab.rate >= FULL.abandoned_rate
        short = "" if full else f" ({ab.seconds} s at {ab.rate}/s: indicative only)"
        targets += [
            Target(
                f"abandoned clients: RSS growth < {ABANDONED_RSS_MIB:g} MiB (peak - before)",
                ", ".join(
                    f"{k} {r.rss_growth_mib:+.1f} MiB (peak {r.rss_peak_mib:.1f})"
                    for k, r in runs.items()
                )
                + short,
                all(r.rss_growth_mib < ABANDONED_RSS_MIB for r in runs.values()) if full else None,
            ),
            Target(
                f"abandoned clients: /healthz p99 < {HEALTHZ_P99_MS:g} ms",
                ", ".join(
                    f"{k} {r.healthz_ms_p99:.1f} ms ({r.healthz_failed} failed)"
                    for k, r in runs.items()
                )
                + short,
                all(
                    r.healthz_ms_p99 < HEALTHZ_P99_MS and r.healthz_failed == 0
                    for r in runs.values()
                )
                if full
                else None,
            ),
            Target(
                "abandoned clients: the bench's client kept up "
                f"(≥ {CLIENT_RATE_SHARE:.0%} of {ab.rate:,}/s launched)",
                ", ".join(
                    f"{k} {r.load.achieved_rate:,.0f}/s launched (late ≤ "
                    f"{r.load.launch_lateness_ms_max:.0f} ms, client CPU "
                    f"{r.load.client_cpu_share:.0%})"
                    for k, r in runs.items()
                ),
                all(r.load.achieved_rate >= CLIENT_RATE_SHARE * ab.rate for r in runs.values()),
            ),
        ]
    return targets


def issue12(report: Report) -> list[Target]:
    if report.conditional is None or report.warm is None:
        return []
    asked, ndays, not_modified = report.conditional, report.warm[NDAYS], report.warm[NOT_MODIFIED]
    return [
        _answers_304(asked, not_modified),
        _not_slower_than_older(report) or _ratio_kept(report, asked, ndays),
        Target(
            "a 304 costs no more CPU per request than a 200 (same rounds)",
            f"304 {not_modified.cpu_us_per_request:.1f} µs, 200 {ndays.cpu_us_per_request:.1f} µs"
            f" ({not_modified.cpu_us_per_request / ndays.cpu_us_per_request:.2f}x)",
            not_modified.cpu_us_per_request <= ndays.cpu_us_per_request,
        ),
    ]


def _answers_304(asked: Conditional, row: WarmRow) -> Target:
    """What the load measured is a 304: checked before and after the rounds, no errors in them."""
    good = all(c.status == 304 and c.etag == asked.etag and c.body_bytes == 0 for c in asked.checks)
    seen = ", ".join(
        f"{c.when}: {c.status}" + ("" if c.etag == asked.etag else f" ETag {c.etag}")
        for c in asked.checks
    )
    return Target(
        "If-None-Match with the current ETag: 304, same ETag, no body, no errors",
        f"{seen}; {row.errors} errors in the rounds",
        good and row.errors == 0,
    )


#: The same-run band within which "not slower" holds: per-round ratios of one code to another on
#: a shared 2-core machine spread far wider than this, so a median inside it is no change.
SAME_RUN_BAND = 0.05


def _not_slower_than_older(report: Report) -> Target | None:
    """With --compare-src: warm /ndays against the older code in the same rounds."""
    older = report.older
    load = next((x for x in older.loads if x.current == NDAYS), None) if older else None
    if older is None or load is None:
        return None
    return Target(
        "warm /ndays (200) no slower than the code at --compare-src, same rounds "
        f"(req/s ≥ {1 - SAME_RUN_BAND:.2f}x, CPU ≤ {1 + SAME_RUN_BAND:.2f}x)",
        f"req/s {load.rps_ratio:.2f}x, CPU per request {load.cpu_ratio:.2f}x the code at "
        f"`{older.commit or older.src}`",
        load.rps_ratio >= 1 - SAME_RUN_BAND and load.cpu_ratio <= 1 + SAME_RUN_BAND,
    )


def _ratio_kept(report: Report, asked: Conditional, ndays: WarmRow) -> Target:
    """The warm 200's ratio against the last recorded one: only full runs compare."""
    what = "warm /ndays (200) ratio does not drop below the last recorded report's"
    assert ndays.rps_ratio is not None
    now = f"{ndays.rps_ratio:.2f}x"
    recorded = asked.recorded
    if recorded is None:
        return Target(what, f"{now}; no recorded ratio to compare with", None)
    context = (
        f"{now} against {recorded.rps_ratio:.2f}x recorded at `{recorded.commit}` "
        f"({recorded.date}, {recorded.path})"
    )
    if report.options.quick or recorded.quick:
        return Target(what, context + " (a quick run on either side: indicative only)", None)
    return Target(what, context, ndays.rps_ratio >= recorded.rps_ratio)


def issue11(report: Report) -> list[Target]:
    shared = report.shared_store
    if shared is None:
        return []
    processes = shared.services or SERVICES
    warm_what = f"warm /ndays with REDIS_URL set ≥ {SHARED_RPS_RATIO}x the in-process req/s"
    calls_what = f"cold stampede across {processes} processes: exactly one upstream call"
    slack_ms = SHARED_STAMPEDE_SLACK_S * 1000
    slowest_what = (
        f"cold stampede across {processes} processes: slowest client ≤ upstream + {slack_ms:.0f} ms"
    )
    if shared.skipped is not None:
        why = f"not measured: {shared.skipped}"
        return [Target(what, why, None) for what in (warm_what, calls_what, slowest_what)]
    targets = []
    if shared.warm is not None and report.warm is not None:
        targets += _shared_warm(shared, report.warm, warm_what)
    if shared.stampede is not None:
        stamp = shared.stampede
        calls = [r.upstream_calls for r in stamp.rounds]
        targets += [
            Target(
                calls_what,
                f"{', '.join(map(str, calls))} per symbol; {stamp.non_200} non-200",
                set(calls) == {1} and stamp.non_200 == 0,
            ),
            Target(
                slowest_what,
                f"+{stamp.slowest_over_upstream_ms_max:.1f} ms (worst of {len(stamp.rounds)}; "
                f"median +{stamp.slowest_over_upstream_ms_median:.1f})",
                stamp.slowest_over_upstream_ms_max <= slack_ms,
            ),
        ]
    return targets


def _shared_warm(shared: SharedStore, warm: dict[str, WarmRow], what: str) -> list[Target]:
    assert shared.warm is not None
    counted = shared.warm
    row, in_process = warm[counted.row], warm[counted.compared_with]
    assert row.rps_ratio is not None
    answered = f"X-Cache {counted.x_cache_before} before the rounds, {counted.x_cache_after} after"
    ratio = counted.mode_ratio(warm)
    figure = f"{ratio:.2f}x"
    if counted.twin is None:
        against = f"{in_process.rps:,.0f} req/s"
    else:
        figure += ", medians of per-round ratios"
        twin = warm[counted.twin]
        assert twin.rps_ratio is not None
        against = (
            f"the mean of {in_process.rps:,.0f} and its twin's {twin.rps:,.0f} req/s; by "
            f"round, {row.rps_ratio:.2f}x the first alone, whose twin made {twin.rps_ratio:.2f}x"
        )
    return [
        Target(
            what,
            f"{figure} ({row.rps:,.0f} against {against}, same rounds; {row.errors} errors)",
            ratio >= SHARED_RPS_RATIO and row.errors == 0,
        ),
        Target(
            "a warm hit with REDIS_URL set never touches Redis: 0 commands, 0 upstream calls, "
            "answered by the first tier",
            f"{counted.redis_commands_text} Redis command(s) in the warm-up and the rounds "
            f"({row.requests:,} requests in the rounds); {counted.upstream_calls} upstream "
            f"calls; {answered}",
            counted.redis_command_count == 0
            and counted.upstream_calls == 0
            and counted.x_cache_before == counted.x_cache_after == "HIT",
        ),
    ]
