"""docs/benchmarks.md, rendered from a Report through the templates in templates/.

Each section is a `string.Template` file holding its prose and its table heads; the code here
only formats figures and table rows for them. `substitute` raises on a placeholder nobody
filled, so a template and its section cannot silently drift apart. Everything below the notes
marker of the existing file is hand-written and kept.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path

from bench.options import SCENARIO_NAMES
from bench.paths import PACKAGE
from bench.results import (
    Abandoned,
    Before,
    Conditional,
    Failure,
    FailureCase,
    OlderCode,
    Report,
    SharedStore,
    Stampede,
    Target,
    WarmRow,
    listed_commands,
)
from bench.scenarios.failure import REFRESH_QUIET_S
from bench.scenarios.older_code import TITLE_PREFIX
from bench.scenarios.short_ttl import ENV as SHORT_TTL_ENV
from bench.workload import NDAYS_VALUES, SPREAD, SYMBOLS

NOTES_MARKER = "<!-- notes: everything below this line is kept when make bench rewrites -->"
TEMPLATES = PACKAGE / "templates"


@cache
def _template(name: str) -> string.Template:
    return string.Template((TEMPLATES / f"{name}.md").read_text().removesuffix("\n"))


def fill(name: str, **values: object) -> str:
    return _template(name).substitute({k: str(v) for k, v in values.items()})


def row(cells: Iterable[object]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def rows(lines: Iterable[Iterable[object]]) -> str:
    return "\n".join(row(cells) for cells in lines)


def blocks(*parts: str | None) -> str:
    """Sections and paragraphs, a blank line between them, the missing ones left out."""
    return "\n\n".join(part for part in parts if part)


def kept_notes(path: Path) -> str:
    """The hand-written part of an existing report (below the marker), if any."""
    if not path.exists():
        return ""
    _, marker, notes = path.read_text().partition(NOTES_MARKER + "\n")
    return notes if marker else ""


def render(report: Report, notes: str) -> str:
    sections = blocks(
        _targets_section(report.targets),
        _warm(report),
        _older(report),
        _stampede(report),
        _memory(report),
        _startup(report),
        _issue9(report),
        _issue11(report),
        _conditional(report),
    )
    return fill(
        "report", **_facts(report), sections=sections, notes_marker=NOTES_MARKER, notes=notes
    )


def _facts(report: Report) -> dict[str, object]:
    m, o = report.machine, report.options
    code_notes = " (with uncommitted changes under services/)" if m.dirty_paths else ""
    if m.service_src:
        code_notes += f"; the service's code from `{m.service_src}`"
        code_notes += f" at commit `{m.service_commit}`" if m.service_commit else ""
        code_notes += " (with uncommitted changes)" if m.service_dirty_paths else ""
    noise = (
        f"1-minute load average {report.load_average.before[0]:.2f} before the run, "
        f"{report.load_average.after[0]:.2f} after"
    )
    if report.runs and "baseline:static" in report.runs:
        static = [r.rps for r in report.runs["baseline:static"]]
        noise += f"; baseline req/s over the rounds ranged {min(static):,.0f} to {max(static):,.0f}"
    optional = ""
    # A report recorded before a scenario existed ran all there were: not a partial one.
    if o.only != SCENARIO_NAMES and "--only" in report.command:
        optional += f"- **Scenarios:** only {', '.join(o.only)} (`--only`: a partial report)\n"
    if report.warm is not None:
        optional += (
            f"- **Load:** wrk -t{o.threads} -c{o.connections}, {o.rounds} rounds x "
            f"{o.duration:g} s per scenario after {o.warmup:g} s warm-up each; wrk shares "
            f"the {m.nproc} cores with the servers; fake upstream latency "
            f"{o.upstream_latency_ms:g} ms; baseline loop: {o.baseline_loop}\n"
        )
    return {
        "date": report.date,
        "command": report.command,
        "quick": " (quick smoke run)" if o.quick else "",
        "commit": m.commit,
        "code_notes": code_notes,
        "nproc": m.nproc,
        "cpu": m.cpu,
        "kernel": m.kernel,
        "python": m.python,
        "packages": ", ".join(f"{k} {v}" for k, v in m.packages.items() if v),
        "wrk": m.wrk,
        "noise": noise,
        "optional_facts": optional,
    }


def _targets_table(targets: Sequence[Target]) -> str:
    return fill("targets", rows=rows((t.what, t.figure, t.verdict) for t in targets))


def _targets_section(targets: Sequence[Target]) -> str | None:
    return fill("issue5_targets", targets=_targets_table(targets)) if targets else None


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _warm(report: Report) -> str | None:
    if report.warm is None:
        return None
    references = {r.baseline for r in report.warm.values()}

    def cells(key: str, r: WarmRow) -> list[object]:
        reference = key in references and r.baseline is None
        ratios = (
            ["1"] * 3
            if reference
            else [_ratio(r.rps_ratio), _ratio(r.p99_ratio), _ratio(r.cpu_ratio)]
        )
        return [
            r.title,
            f"{r.rps:,.0f}",
            ratios[0],
            f"{r.p50_ms:.2f}",
            f"{r.p99_ms:.2f}",
            ratios[1],
            f"{r.max_ms:.1f}",
            r.errors,
            f"{r.cpu_us_per_request:.1f}",
            ratios[2],
            f"{r.cpu_share:.0%}",
            f"{r.bytes_per_response:,.0f}",
            f"{r.rss_mib:.1f}",
        ]

    loads = None
    if "warm" in report.options.only:
        loads = fill(
            "warm_loads",
            targets=len(SPREAD),
            symbols=len(SYMBOLS),
            ndays_values=", ".join(map(str, NDAYS_VALUES)),
        )
    cpu = fill("warm_cpu", nproc=report.machine.nproc, upstream_calls=report.warm_upstream_calls)
    shared = report.shared_store.warm if report.shared_store else None
    if shared is not None:
        cpu += "\n" + fill("warm_shared", title=report.warm[shared.row].title)
        if shared.twin is not None:
            cpu += "\n" + fill("warm_twin", title=report.warm[shared.twin].title)
    if report.older is not None:
        cpu += "\n" + fill("warm_older", prefix=TITLE_PREFIX, src=report.older.src)
    return fill(
        "warm",
        rows=rows(cells(key, r) for key, r in report.warm.items()),
        notes=loads + "\n" + cpu if loads else cpu,
    )


def _stampede(report: Report) -> str | None:
    stamp = report.stampede
    if stamp is None:
        return None
    return fill(
        "stampede",
        clients=report.options.stampede_clients,
        symbols=len(stamp.rounds),
        table=_stampede_table(stamp),
    )


def _stampede_table(stamp: Stampede) -> str:
    return fill(
        "stampede_table",
        rows=rows(
            (
                r.symbol,
                r.upstream_calls,
                r.non_200,
                ", ".join(f"{k} {v}" for k, v in sorted(r.x_cache.items())),
                f"{r.upstream_own_ms:.1f}",
                f"{r.fastest_ms:.1f}",
                f"{r.median_ms:.1f}",
                f"{r.slowest_ms:.1f}",
                f"{r.slowest_over_upstream_ms:+.1f}",
                f"{r.service_slowest_ms:.1f}",
            )
            for r in stamp.rounds
        ),
    )


def _memory(report: Report) -> str | None:
    soaked = report.memory
    if soaked is None:
        return None
    return fill(
        "memory",
        after_warmup=f"{soaked.rss_after_warmup_mib:.1f}",
        baseline=f"{report.baseline_rss_mib:.1f}",
        requests=f"{soaked.requests:,}",
        after_soak=f"{soaked.rss_after_soak_mib:.1f}",
        growth=f"{soaked.growth:+.1%}",
        samples=", ".join(f"{s.requests:,}: {s.rss_mib:.1f}" for s in soaked.samples),
        end=f"{report.rss_end_mib:.1f}",
    )


def _startup(report: Report) -> str | None:
    start = report.startup
    if start is None:
        return None
    return fill(
        "startup",
        service_median=f"{start.service_median_s:.3f}",
        service_max=f"{start.service_max_s:.3f}",
        starts=len(start.samples["service"]),
        baseline_median=f"{start.baseline_median_s:.3f}",
        baseline_max=f"{start.baseline_max_s:.3f}",
    )


# --compare-src ------------------------------------------------------------------------------


def _older(report: Report) -> str | None:
    older, warm = report.older, report.warm
    if older is None or warm is None:
        return None
    m = report.machine
    dirty = m.service_dirty_paths if m.service_src else m.dirty_paths
    this_code = _code("current", m.service_commit or m.commit, bool(dirty))
    older_code = _code("older", older.commit, bool(older.dirty_paths))
    lines: list[Sequence[object]] = []
    for load in older.loads:
        current = warm[load.current]
        for code, r in ((this_code, current), (older_code, warm[load.older])):
            lines.append(
                (
                    current.title if r is current else "",
                    code,
                    f"{r.rps:,.0f}",
                    _ratio(r.rps_ratio),
                    f"{r.p99_ms:.2f}",
                    f"{r.cpu_us_per_request:.1f}",
                    f"{r.rss_mib:.1f}",
                    r.errors,
                )
            )
        lines.append(
            (
                "",
                "**current ÷ older**",
                _ratio(load.rps_ratio),
                "-",
                _ratio(load.p99_ratio),
                _ratio(load.cpu_ratio),
                _ratio(load.rss_ratio),
                "-",
            )
        )
    section = fill(
        "older",
        src=older.src,
        checkout=_checkout(older),
        startup="-" if older.startup_s is None else f"{older.startup_s:.2f}",
        rows=rows(lines),
    )
    left_out = "; ".join(f"`{key}` ({why})" for key, why in older.not_measured.items())
    return blocks(section, f"Not measured on the older code: {left_out}." if left_out else None)


def _code(which: str, commit: str | None, dirty: bool) -> str:
    """`current (`2ed0e63` + uncommitted changes)`: which code a row measured."""
    parts = ([f"`{commit}`"] if commit else []) + (["uncommitted changes"] if dirty else [])
    return f"{which} ({' + '.join(parts)})" if parts else which


def _checkout(older: OlderCode) -> str:
    """` (commit X)` when the older code is a git checkout."""
    if older.commit is None:
        return ""
    changes = ", with uncommitted changes" if older.dirty_paths else ""
    return f" (commit {older.commit}{changes})"


# Issue 9 -------------------------------------------------------------------------------------


def _issue9(report: Report) -> str | None:
    if report.failure is None and report.abandoned is None:
        return None
    noise = "; ".join(
        f"{name} {part.load_average.before[0]:.2f} before, {part.load_average.after[0]:.2f} after"
        for name, part in (
            ("failing upstream", report.failure),
            ("abandoned clients", report.abandoned),
        )
        if part is not None
    )
    intro = fill(
        "issue9",
        env=", ".join(f"{k}={v}" for k, v in SHORT_TTL_ENV.items()),
        noise=noise,
        targets=_targets_table(report.targets_issue9),
    )
    return blocks(
        intro,
        _before_after(report, report.before),
        _failure(report.failure),
        _abandoned(report.abandoned),
    )


def _seconds_and_answers(case: FailureCase) -> str:
    """A case's first STALE timing for the before → after table."""
    timing = (
        f"{case.slowest_s:.2f} s"
        if case.clients == 1
        else f"{case.first_s:.2f} / {case.slowest_s:.2f} s"
    )
    if case.all_200_stale:
        return timing
    answers = ", ".join(f"{k} {v}" for k, v in sorted(case.x_cache.items()))
    return f"{timing} ({case.statuses}; {answers})"


def issue9_rows(failure: Failure | None, abandoned: Abandoned | None) -> dict[str, str]:
    """The issue's headline figures of one report, keyed by what they measure."""
    lines: dict[str, str] = {}
    if failure is not None:
        cases = failure.cases
        for c in cases:
            what = "HTTP 500" if c.upstream == "500" else "upstream hanging"
            who = "1 client" if c.clients == 1 else f"{c.clients} clients (first / slowest)"
            lines[f"first STALE after expiry, {what}, {who}"] = _seconds_and_answers(c)
        for mode, what in (("500", "HTTP 500"), ("hang", "upstream hanging")):
            calls = [str(c.upstream_calls) for c in cases if c.upstream == mode]
            lines[f"upstream calls per failing refresh, {what} (each case)"] = ", ".join(calls)
        slowest = max(cases, key=lambda c: c.next.seconds)
        lines["request right after the failed refresh (slowest of the cases)"] = (
            f"{slowest.next.seconds * 1000:.1f} ms, {slowest.next.status} {slowest.next.x_cache}"
        )
    if abandoned is not None:
        for kind, r in abandoned.runs.items():
            lines[f"abandoned clients, {kind} symbol: RSS before → peak → after"] = (
                f"{r.rss_before_mib:.0f} → {r.rss_peak_mib:.0f} → "
                f"{r.rss_after_mib:.0f} MiB ({r.rss_growth_mib:+.1f})"
            )
            lines[f"abandoned clients, {kind} symbol: /healthz p99 (max)"] = (
                f"{r.healthz_ms_p99:.1f} ms ({r.healthz_ms_max:.0f})"
                + (f", {r.healthz_failed} failed" if r.healthz_failed else "")
            )
    return lines


def _before_after(report: Report, before: Before | None) -> str | None:
    if before is None:
        return None
    mine = issue9_rows(report.failure, report.abandoned)
    theirs = issue9_rows(before.failure, before.abandoned)
    return fill(
        "before_after",
        code=before.machine.service_commit or before.machine.commit,
        date=before.date,
        command=before.command,
        rows=rows((what, theirs.get(what, "-"), figure) for what, figure in mine.items()),
    )


def _failure(failure: Failure | None) -> str | None:
    if failure is None:
        return None

    def cells(c: FailureCase) -> list[object]:
        statuses = ", ".join(f"{k}: {v}" for k, v in c.statuses.items())
        states = ", ".join(f"{k}: {v}" for k, v in sorted(c.x_cache.items()))
        ended = c.refresh_ended and c.refresh_seconds is not None
        lasted = f"{c.refresh_seconds:.1f}" if ended else "did not end"
        return [
            "HTTP 500" if c.upstream == "500" else "hanging",
            c.clients,
            f"{c.first_s:.2f}",
            f"{c.median_s:.2f}",
            f"{c.slowest_s:.2f}",
            f"status {statuses}; X-Cache {states}",
            c.upstream_calls,
            lasted,
            f"{c.next.seconds * 1000:.1f}",
            f"{c.next.status} {c.next.x_cache}",
            c.next.upstream_calls,
        ]

    return fill("failure", quiet=f"{REFRESH_QUIET_S:g}", rows=rows(map(cells, failure.cases)))


def _dash(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _abandoned(ab: Abandoned | None) -> str | None:
    if ab is None:
        return None
    load_rows = [
        (
            kind,
            f"{r.load.launched:,}",
            f"{r.load.achieved_rate:,.0f}",
            f"{r.load.connected_rate:,.0f}",
            f"{r.load.launch_lateness_ms_p99:.1f} / {r.load.launch_lateness_ms_max:.1f}",
            f"{r.load.client_cpu_share:.0%}",
            f"{r.service_cpu_share:.0%}",
            ", ".join(f"{k} {v}" for k, v in sorted(r.load.answer_statuses.items())) or "none",
            f"{r.load.abandoned:,}",
            f"{r.load.gave_up_connecting:,}",
            f"{r.load.closed_by_service:,}",
        )
        for kind, r in ab.runs.items()
    ]
    memory_rows = [
        (
            kind,
            f"{r.rss_before_mib:.1f}",
            f"{r.rss_peak_mib:.1f}",
            f"{r.rss_after_mib:.1f}",
            f"{r.rss_growth_mib:+.1f}",
            f"{r.healthz_ms_p50:.1f}",
            f"{r.healthz_ms_p99:.1f}",
            f"{r.healthz_ms_max:.1f}",
            f"{r.healthz_probes} ({r.healthz_failed})",
            _dash(r.waiting_peak, ".0f"),
            _dash(r.overflow_total, ".0f"),
            r.upstream_calls,
            _dash(r.settled_after_s, ".1f"),
        )
        for kind, r in ab.runs.items()
    ]
    return fill(
        "abandoned",
        seconds=ab.seconds,
        rate=f"{ab.rate:,}",
        patience=f"{ab.patience_s:g}",
        load_rows=rows(load_rows),
        memory_rows=rows(memory_rows),
        idle=", ".join(f"{k} {r.healthz_idle_ms_p50:.1f} ms" for k, r in ab.runs.items()),
    )


# Issue 11 ------------------------------------------------------------------------------------


def _issue11(report: Report) -> str | None:
    shared = report.shared_store
    if shared is None:
        return None
    targets = _targets_table(report.targets_issue11)
    if shared.skipped is not None:
        return fill("issue11_skipped", why=shared.skipped, targets=targets)
    return fill(
        "issue11",
        server=shared.server,
        **_shared_warm(report, shared),
        services=shared.services,
        clients=report.options.stampede_clients,
        symbols=len(shared.stampede.rounds) if shared.stampede else 0,
        noise=_noise(shared),
        table=_stampede_table(shared.stampede) if shared.stampede else "(not run)",
        **_primed(shared),
        store_rows=rows(
            (
                a.symbol,
                f"{a.command_count:,}",
                f"{a.command_count / report.options.stampede_clients:.1f}",
                listed_commands(a.commands),
                a.connections,
                a.store_down_logged,
            )
            for a in shared.stampede_store
        ),
        targets=targets,
    )


def _primed(shared: SharedStore) -> dict[str, object]:
    primed = shared.primed
    if primed is None:
        return dict.fromkeys(("own", "own_calls", "primed", "primed_calls"), "-")
    return {
        "own": ", ".join(map(str, primed.own_x_cache)) or "-",
        "own_calls": primed.own_upstream_calls,
        "primed": ", ".join(map(str, primed.x_cache)),
        "primed_calls": primed.upstream_calls,
    }


def _noise(shared: SharedStore) -> str:
    around = shared.load_average
    return "-" if around is None else f"{around.before[0]:.2f} before, {around.after[0]:.2f} after"


def _shared_warm(report: Report, shared: SharedStore) -> dict[str, object]:
    """The warm part's placeholders: the rows (two, or three with the twin) and their ratios,
    and what was counted."""
    counted, warm = shared.warm, report.warm
    if counted is None or warm is None:
        missing: dict[str, object] = dict.fromkeys(
            ("warm_rows", "commands", "upstream_calls", "x_cache_before", "x_cache_after"), "-"
        )
        return missing | {"twin_note": ""}
    shown = [("in-process", warm[counted.compared_with])]
    if counted.twin is not None:
        shown.append(("in-process twin", warm[counted.twin]))
    shown.append(("REDIS_URL set", warm[counted.row]))
    lines: list[Sequence[object]] = [
        (
            name,
            f"{r.rps:,.0f}",
            f"{r.p50_ms:.2f}",
            f"{r.p99_ms:.2f}",
            f"{r.max_ms:.1f}",
            r.errors,
            f"{r.cpu_us_per_request:.1f}",
            f"{r.rss_mib:.1f}",
        )
        for name, r in shown
    ]
    compared = [("REDIS_URL set", warm[counted.row])]
    if counted.twin is not None:
        compared.append(("in-process twin", warm[counted.twin]))
    for name, row in compared:
        lines.append(
            (
                f"{name} ÷ in-process",
                _ratio(row.rps_ratio),
                "-",
                _ratio(row.p99_ratio),
                "-",
                "-",
                _ratio(row.cpu_ratio),
                "-",
            )
        )
    if counted.twin is not None:
        lines.append(
            (
                "REDIS_URL set ÷ in-process mode (mean of the two)",
                _ratio(counted.mode_ratio(warm)),
                *("-",) * 6,
            )
        )
    return {
        "warm_rows": rows(lines),
        "twin_note": "" if counted.twin is None else " " + fill("issue11_twin").rstrip("\n"),
        "commands": counted.redis_commands_text,
        "upstream_calls": counted.upstream_calls,
        "x_cache_before": counted.x_cache_before,
        "x_cache_after": counted.x_cache_after,
    }


# Issue 12 ------------------------------------------------------------------------------------


def _conditional(report: Report) -> str | None:
    asked, warm = report.conditional, report.warm
    if asked is None or warm is None:
        return None
    ndays, not_modified = warm["service:ndays"], warm["service:ndays-304"]
    lines: list[Sequence[object]] = []
    if asked.recorded is not None:
        recorded = asked.recorded
        quick = ", quick run" if recorded.quick else ""
        lines.append(
            (
                f"200, recorded at `{recorded.commit}` ({recorded.date}{quick})",
                "-",
                _ratio(recorded.rps_ratio),
                "-",
                f"{recorded.cpu_us_per_request:.1f}",
                "-",
                "-",
                "-",
            )
        )
    for name, r in (("200, this run", ndays), ("304, this run", not_modified)):
        lines.append(
            (
                name,
                f"{r.rps:,.0f}",
                _ratio(r.rps_ratio),
                f"{r.p99_ms:.2f}",
                f"{r.cpu_us_per_request:.1f}",
                f"{r.cpu_us_per_request / ndays.cpu_us_per_request:.2f}x",
                f"{r.bytes_per_response:,.0f}",
                r.errors,
            )
        )
    return fill(
        "conditional",
        path=asked.path,
        checks=_checks(asked),
        rows=rows(lines),
        targets=_targets_table(report.targets_issue12),
    )


def _checks(asked: Conditional) -> str:
    return "; ".join(
        f"{c.when} {c.status}, X-Cache {c.x_cache}, "
        + ("the same ETag" if c.etag == asked.etag else f"ETag {c.etag}")
        + f", {c.body_bytes} body bytes"
        for c in asked.checks
    )
