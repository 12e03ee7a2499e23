"""Recorded reports, read into the result types: what judging and the report are tested on.

- full-run-3c24ea8: the full run docs/benchmarks.json recorded at 3c24ea8 (issue 5 scenarios).
- issue9-quick-83dcb1c: `--quick --only failure,abandoned` by the single-file harness at 83dcb1c,
  the layout `--before` files written before the package have.
- quick-run-0349406: `make bench BENCH_ARGS="--quick --no-write ..."` by this package, every
  scenario, the service at 0349406 on a busy shared machine (its figures are noisy: three
  targets are not met, the 304's CPU among them).
- redis-quick-ec9dead: `--quick --only redis --no-write` by this package at ec9dead: issue 11's
  scenarios, warm /ndays with REDIS_URL set in the rounds next to the in-process service (0 Redis
  commands), and the stampede across three processes sharing the redis-server, whose targets
  were not met (3 upstream calls per symbol; +355 ms): the service's cold path sends the store
  its own commands per request, over a new connection each, and falls back when they time out.
- compare-quick-717a1d0: `make bench BENCH_ARGS="--quick --only warm --compare-src
  .older/services/api --no-write ..."` at 717a1d0 (with another person's uncommitted change to
  the service): the code at ca0c6bc, a worktree, in the same warm rounds; its code sends no ETag,
  so its 304 load is not measured. Two 3 s rounds on a busy shared machine: noisy figures.
- Each `.md` beside them is its rendered report (no notes), checked by test_report.py; after a
  deliberate change to a template, rewrite them with `UPDATE_GOLDEN=1 tox run -e bench`.

`with_conditional` adds an issue 12 section to the recorded full run, built from its own warm
/ndays row, so that its figures can be moved across each target's line.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from bench.codec import load_report
from bench.results import Conditional, ConditionalCheck, RecordedRatio, Report

FIXTURES = Path(__file__).parent / "fixtures"
RECORDED = (
    "full-run-3c24ea8",
    "issue9-quick-83dcb1c",
    "quick-run-0349406",
    "redis-quick-ec9dead",
    "compare-quick-717a1d0",
)
ETAG = '"0a52e5aed609b67e9cd19006158f4a9c"'


def recorded(name: str) -> Report:
    return load_report((FIXTURES / f"{name}.json").read_text())


def with_conditional(
    report: Report,
    *,
    cpu_304: float,
    recorded_ratio: float | None = 0.61,
    recorded_quick: bool = False,
    status: int = 304,
) -> Report:
    """`report` with a 304 row (the 200's figures, `cpu_304` µs/req, no body) and its checks."""
    assert report.warm is not None
    ndays = report.warm["service:ndays"]
    not_modified = replace(
        ndays,
        title="warm /ndays, If-None-Match: its ETag (304)",
        cpu_us_per_request=cpu_304,
        bytes_per_response=180.0,
    )
    checks = [
        ConditionalCheck(when, status, ETAG, "HIT", 0 if status == 304 else 854)
        for when in ("before the rounds", "after the rounds")
    ]
    previous = None
    if recorded_ratio is not None:
        previous = RecordedRatio(
            path="docs/benchmarks.json",
            date="2026-11-29 06:26 UTC",
            commit="3c24ea8",
            quick=recorded_quick,
            rps_ratio=recorded_ratio,
            cpu_us_per_request=36.9,
        )
    return replace(
        report,
        warm={**report.warm, "service:ndays-304": not_modified},
        conditional=Conditional("/ndays", ETAG, checks, previous),
    )


def with_twin(report: Report, redis_ratio: float, twin_ratio: float) -> Report:
    """`report` as if an in-process twin had been measured too: REDIS_URL set at `redis_ratio`
    of the in-process service, the twin at `twin_ratio`."""
    shared, warm = report.shared_store, report.warm
    assert shared is not None
    assert shared.warm is not None
    assert warm is not None
    in_process = warm["service:ndays"]
    redis = replace(warm["service-redis:ndays"], rps_ratio=redis_ratio)
    twin = replace(
        in_process,
        title="warm /ndays, in-process twin",
        rps=in_process.rps * twin_ratio,
        rps_ratio=twin_ratio,
    )
    warm = {**warm, "service-redis:ndays": redis, "service-twin:ndays": twin}
    counted = replace(shared.warm, twin="service-twin:ndays")
    return replace(report, warm=warm, shared_store=replace(shared, warm=counted))
