"""The warm rounds: every planned load once per round, its figures, and its ratios.

A plan is a list of `Measure`s, each a load against one server and, when it is judged as a
ratio, the key of the measure it is compared with. Each round runs them all; the order is
reversed every other round, so that drift of the machine cancels out between the measures
compared. Each figure is the median over rounds, each ratio the median of per-round ratios.
Besides wrk's figures, every run records the server's CPU time per request, which does not
depend on how much of the machine wrk itself takes.

Scenarios contribute measures (scenarios/warm.py, scenarios/conditional.py), so everything
compared is measured in the same rounds; issue 11's "warm /ndays with REDIS_URL set vs in-process"
is one more measure against a second service, compared with "service:ndays". `--compare-src`'s
older code is a second service too (scenarios/older_code.py): its figures are paired with this
code's by round the same way (`same_rounds`, `median_ratio`).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from bench.console import say
from bench.options import Options
from bench.processes import ServerProcess
from bench.results import RoundRun, WarmRow
from bench.stats import median
from bench.wrk import Load, Wrk


@dataclass(frozen=True)
class Measure:
    server: ServerProcess
    load: Load
    title: str
    compare_with: str | None = None  # the key of another measure of the plan

    @property
    def key(self) -> str:
        return f"{self.server.name}:{self.load.key}"


def deduplicated(plan: Sequence[Measure]) -> list[Measure]:
    """The plan with each key once (scenarios share their baselines), in first-seen order."""
    seen: dict[str, Measure] = {}
    for measure in plan:
        seen.setdefault(measure.key, measure)
    wanted = {m.compare_with for m in seen.values() if m.compare_with is not None}
    if wanted - set(seen):
        raise ValueError(f"compared with measures not in the plan: {sorted(wanted - set(seen))}")
    return list(seen.values())


def warm_up(wrk: Wrk, plan: Sequence[Measure], seconds: int) -> None:
    for measure in plan:
        wrk.run(measure.server.url, measure.load, seconds)


def run_rounds(wrk: Wrk, plan: Sequence[Measure], options: Options) -> dict[str, list[RoundRun]]:
    """Every measure once per round; the order reversed every other round."""
    runs: dict[str, list[RoundRun]] = {}
    for round_no in range(options.rounds):
        for measure in plan if round_no % 2 == 0 else plan[::-1]:
            server = measure.server
            cpu_before = server.cpu_seconds()
            result = wrk.run(server.url, measure.load, options.duration)
            cpu = server.cpu_seconds() - cpu_before
            run = RoundRun(
                **vars(result),
                cpu_us_per_request=cpu * 1e6 / max(result.requests, 1),
                cpu_share=cpu / (result.duration_us / 1e6),
                rss_mib=server.rss_mib(),
                round=round_no,
            )
            runs.setdefault(measure.key, []).append(run)
            say(
                f"round {round_no + 1}/{options.rounds} {server.name:8} {measure.load.key:9} "
                f"{run.rps:9.0f} req/s  p99 {run.latency_us.p99 / 1000:6.2f} ms"
                f"  CPU {run.cpu_us_per_request:5.1f} us/req ({run.cpu_share:.0%})"
                f"  errors {run.error_count}"
            )
    return runs


def summarise(plan: Sequence[Measure], runs: dict[str, list[RoundRun]]) -> dict[str, WarmRow]:
    """One row per measure: the measures others are compared with first, then the plan's order."""
    references = {m.compare_with for m in plan if m.compare_with is not None}
    ordered = [m for m in plan if m.key in references] + [
        m for m in plan if m.key not in references
    ]
    rows: dict[str, WarmRow] = {}
    for measure in ordered:
        mine = runs[measure.key]
        row = WarmRow(
            title=measure.title,
            rps=median([r.rps for r in mine]),
            p50_ms=median([r.latency_us.p50 / 1000 for r in mine]),
            p99_ms=median([r.latency_us.p99 / 1000 for r in mine]),
            max_ms=median([r.latency_us.max / 1000 for r in mine]),
            errors=sum(r.error_count for r in mine),
            requests=sum(r.requests for r in mine),
            rss_mib=median([r.rss_mib for r in mine]),
            cpu_us_per_request=median([r.cpu_us_per_request for r in mine]),
            cpu_share=median([r.cpu_share for r in mine]),
            bytes_per_response=median([r.bytes_per_response for r in mine]),
        )
        if measure.compare_with is not None:
            pairs = same_rounds(runs, measure.key, measure.compare_with)
            row = replace(
                row,
                baseline=measure.compare_with,
                rps_ratio=median_ratio(pairs, RPS),
                p99_ratio=median_ratio(pairs, P99),
                cpu_ratio=median_ratio(pairs, CPU),
            )
        rows[measure.key] = row
    return rows


Figure = Callable[[RoundRun], float]
RPS: Figure = operator.attrgetter("rps")
P99: Figure = operator.attrgetter("latency_us.p99")
CPU: Figure = operator.attrgetter("cpu_us_per_request")
RSS: Figure = operator.attrgetter("rss_mib")


def same_rounds(
    runs: dict[str, list[RoundRun]], key: str, other: str
) -> list[tuple[RoundRun, RoundRun]]:
    """The runs of measure `key` and of measure `other`, paired by round."""
    return list(zip(runs[key], runs[other], strict=True))


def median_ratio(pairs: Sequence[tuple[RoundRun, RoundRun]], figure: Figure) -> float:
    """The median over rounds of `figure`'s ratio, each round's first run ÷ its second."""
    return median([figure(mine) / figure(theirs) for mine, theirs in pairs])
