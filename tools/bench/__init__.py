"""The benchmark harness: the service against a bare-aiohttp baseline, on this machine, in one run.

    make bench                                            # full run, ~10 min on 2 cores
    make bench BENCH_ARGS="--quick --no-write"            # smoke run, printed, ~4 min
    make bench BENCH_ARGS="--only failure,abandoned --no-write"
    PYTHONPATH=tools .venv/bin/python -m bench --help     # every knob

A run starts, each the same way (processes.py), a fake Alpha Vantage upstream with a fixed
latency (the tests' own, services/api/tests/support/fake_upstream.py), the service in its
deployed configuration pointed at it, and the baseline: a bare aiohttp app answering a fixed body
of the size of the service's 7-day `/ndays` answer (stand_ins.py). It runs the scenarios
(scenarios/), judges the issues' targets on the figures (judging.py) and writes docs/benchmarks.md
from templates (report.py, templates/) and docs/benchmarks.json, every raw figure (results.py,
codec.py), unless --no-write.

`--only` runs some of the scenarios (options.SCENARIO_NAMES) and so writes a partial report: it
then needs --no-write or other --out-md/--out-json. `--service-src DIR` runs the service from
another checkout's services/api (a `git worktree` of an older commit, say) for before/after
figures; `--compare-src DIR` runs another checkout's code too, as a second service process in
the same warm rounds, and reports each load's ratios current ÷ older (scenarios/older_code.py);
`--save-json PATH` writes the raw report there whatever --no-write says, and
`--before PATH` (such a saved report) adds a before → after table to the issue 9 section.

Only 127.0.0.1 is ever contacted. It needs wrk (`apt-get install wrk`) and the project's venv,
whose interpreter also runs the service and the stand-ins; the redis scenario (issue 11) needs
redis-server (`apt-get install redis-server`), which it starts itself, and is skipped without
one (an error with CI=true).

Layout: options (knobs) → run (the order of a run) → scenarios/* (one per scenario) on top of
processes (starting and stopping servers), wrk and rounds (warm load), clients (raw HTTP bursts
and impatient clients), prober (liveness during a load), upstream_control (the fake's counters
and failure mode), redis_client (INFO for a redis-server); results (typed figures) →
judging (targets) → report (Markdown).

The launcher and free_port, the fake upstream, redis-server's start, wrk with its script and the
/proc readings are the tests' support package's (services/api/tests/support), shared with the
service's tests and the infra tests. It is imported here as the top-level `support`, its folder
appended to sys.path below: `tests.support` cannot be reached from tools/, whose own tests are a
package named `tests`.
"""

import sys
from pathlib import Path

TEST_SUPPORT_ROOT = Path(__file__).resolve().parents[2] / "services" / "api" / "tests"
if str(TEST_SUPPORT_ROOT) not in sys.path:
    sys.path.append(str(TEST_SUPPORT_ROOT))
