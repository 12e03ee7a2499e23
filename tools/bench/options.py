"""The run's knobs: `make bench BENCH_ARGS="..."` (see --help).

`Options()` is a full run; `--quick` shortens the rounds, the soak and the load. Judging reads
the full-run figures from here too (a short soak or a short abandoned-clients load is
indicative only), so the two cannot drift apart.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bench.paths import DOCS_JSON, DOCS_MD

# In the order they run (redis: its warm load in the warm rounds, its stampede across three
# processes after the main service's); `--only` takes any of them.
SCENARIO_NAMES = ("warm", "conditional", "stampede", "redis", "startup", "failure", "abandoned")


@dataclass(frozen=True)
class Options:
    rounds: int = 5
    duration: int = 10
    warmup: int = 3
    threads: int = 2
    connections: int = 64
    upstream_latency_ms: float = 150.0
    soak_requests: int = 1_000_000
    soak_chunk: int = 10
    stampede_clients: int = 500
    stampede_rounds: int = 5
    startup_samples: int = 5
    baseline_loop: str = "uvloop"
    quick: bool = False
    write: bool = True
    keep_logs: bool = False
    out_md: Path = DOCS_MD
    out_json: Path = DOCS_JSON
    only: tuple[str, ...] = SCENARIO_NAMES
    service_src: Path | None = None
    compare_src: Path | None = None  # another checkout's services/api, in the same warm rounds
    save_json: Path | None = None
    before: Path | None = None
    failure_clients: int = 200
    abandoned_seconds: int = 15
    abandoned_rate: int = 1000
    abandoned_patience: float = 0.5


FULL = Options()
# What --quick changes, unless the knob is given.
QUICK = replace(
    FULL,
    rounds=2,
    duration=3,
    warmup=1,
    soak_requests=100_000,
    soak_chunk=5,
    stampede_rounds=2,
    startup_samples=2,
    abandoned_seconds=5,
)
# Taken from the command line as given; the rest of Options is derived from the flags.
_KNOBS = (
    "rounds",
    "duration",
    "warmup",
    "threads",
    "connections",
    "upstream_latency_ms",
    "soak_requests",
    "stampede_clients",
    "stampede_rounds",
    "startup_samples",
    "baseline_loop",
    "failure_clients",
    "abandoned_seconds",
    "abandoned_rate",
    "abandoned_patience",
    "keep_logs",
    "out_md",
    "out_json",
    "save_json",
    "before",
)
_AT_LEAST_ONE = (
    "rounds",
    "duration",
    "warmup",
    "stampede_clients",
    "stampede_rounds",
    "failure_clients",
    "abandoned_seconds",
    "abandoned_rate",
    "startup_samples",
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bench",
        description="Benchmark the service against a bare aiohttp baseline (issues 5, 9, 11 "
        "and 12). The redis scenario needs redis-server (skipped without one; an error with "
        "CI=true).",
        epilog='Run through make: make bench BENCH_ARGS="--quick --no-write"',
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: about 3 minutes")
    parser.add_argument("--rounds", type=int, help="rounds per warm scenario (5; quick 2)")
    parser.add_argument("--duration", type=int, help="seconds per wrk run (10; quick 3)")
    parser.add_argument("--warmup", type=int, help="seconds of wrk warm-up each (3; quick 1)")
    parser.add_argument("--threads", type=int, default=FULL.threads, help="wrk threads (2)")
    parser.add_argument(
        "--connections", type=int, default=FULL.connections, help="wrk connections (64)"
    )
    parser.add_argument(
        "--upstream-latency-ms", type=float, default=FULL.upstream_latency_ms, help="(150)"
    )
    parser.add_argument(
        "--soak-requests", type=int, help="warm requests between memory readings (1e6; quick 1e5)"
    )
    parser.add_argument("--stampede-clients", type=int, default=FULL.stampede_clients, help="(500)")
    parser.add_argument("--stampede-rounds", type=int, help="cold symbols to stampede (5; quick 2)")
    parser.add_argument("--startup-samples", type=int, help="fresh starts to time (5; quick 2)")
    parser.add_argument(
        "--baseline-loop",
        choices=["uvloop", "asyncio"],
        default=FULL.baseline_loop,
        help="event loop of the baseline app (uvloop: the same as the service)",
    )
    parser.add_argument(
        "--failure-clients",
        type=int,
        default=FULL.failure_clients,
        help="failing upstream: the burst (200)",
    )
    parser.add_argument(
        "--abandoned-seconds", type=int, help="abandoned clients: seconds of load (15; quick 5)"
    )
    parser.add_argument(
        "--abandoned-rate", type=int, default=FULL.abandoned_rate, help="clients/s (1000)"
    )
    parser.add_argument(
        "--abandoned-patience",
        type=float,
        default=FULL.abandoned_patience,
        help="seconds before a client leaves",
    )
    parser.add_argument(
        "--only",
        help=f"comma-separated scenarios to run, of {','.join(SCENARIO_NAMES)} (default: all)",
    )
    parser.add_argument(
        "--service-src",
        type=Path,
        help="run the service from this services/api directory (PYTHONPATH), e.g. a worktree",
    )
    parser.add_argument(
        "--compare-src",
        type=Path,
        metavar="DIR",
        help="with the warm scenario: also run the service from this services/api directory "
        "(another checkout, e.g. `git worktree add /tmp/old <commit>`) as a second process, its "
        "warm /ndays, /healthz and 304 (when its code answers one) in the same rounds as this "
        "code's; the report adds their figures and the ratios current ÷ older",
    )
    parser.add_argument("--save-json", type=Path, help="also write the raw report here, always")
    parser.add_argument(
        "--before", type=Path, help="a saved report (--save-json) to show before → after"
    )
    parser.add_argument("--no-write", action="store_true", help="print, do not write docs/")
    parser.add_argument("--keep-logs", action="store_true", help="keep the servers' output")
    parser.add_argument("--out-md", type=Path, default=FULL.out_md)
    parser.add_argument("--out-json", type=Path, default=FULL.out_json)
    return parser


def parse_options(argv: Sequence[str]) -> Options:
    parser = _parser()
    args = parser.parse_args(argv)
    only: tuple[str, ...] = SCENARIO_NAMES
    if args.only is not None:
        wanted = [name.strip() for name in args.only.split(",") if name.strip()]
        unknown = sorted(set(wanted) - set(SCENARIO_NAMES))
        if unknown or not wanted:
            parser.error(f"--only: unknown {unknown or 'nothing'}; choose of {SCENARIO_NAMES}")
        only = tuple(name for name in SCENARIO_NAMES if name in wanted)
    default_out = args.out_md == DOCS_MD or args.out_json == DOCS_JSON
    if only != SCENARIO_NAMES and not args.no_write and default_out:
        parser.error("--only writes a partial report: add --no-write, or --out-md and --out-json")
    if args.service_src is not None and not (args.service_src / "stock_ticker").is_dir():
        parser.error(f"--service-src: no stock_ticker package in {args.service_src}")
    if args.compare_src is not None and not (args.compare_src / "stock_ticker").is_dir():
        parser.error(f"--compare-src: no stock_ticker package in {args.compare_src}")
    if args.compare_src is not None and "warm" not in only:
        parser.error("--compare-src measures in the warm rounds: --only must include warm")
    if args.before is not None and not args.before.is_file():
        parser.error(f"--before: no such file {args.before}")
    preset = QUICK if args.quick else FULL
    given: dict[str, Any] = {
        name: getattr(args, name) for name in _KNOBS if getattr(args, name) is not None
    }
    options = replace(
        preset,
        **given,
        quick=args.quick,
        write=not args.no_write,
        only=only,
        service_src=args.service_src.resolve() if args.service_src else None,
        compare_src=args.compare_src.resolve() if args.compare_src else None,
    )
    for name in _AT_LEAST_ONE:
        if getattr(options, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if options.abandoned_patience <= 0:
        parser.error("--abandoned-patience must be positive")
    return options
