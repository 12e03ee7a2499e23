"""wrk, the load generator of the bench and of the soak test, run with the one script (wrk.lua)
and read back from the JSON line that script prints."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

WRK_LUA = Path(__file__).resolve().parent / "wrk.lua"
RESULT_PREFIX = "BENCH_JSON "


def run_wrk(
    binary: str,
    url: str,
    *,
    threads: int,
    connections: int,
    seconds: int,
    timeout_s: int,
    headers: Sequence[str] = (),
    cycle: Sequence[str] = (),
    count_answers: bool = False,
) -> dict[str, Any]:
    """wrk against `url` for `seconds`: what its done() hook printed (see wrk.lua); an exit other
    than 0 raises. `cycle`: the request targets each connection goes through in turn;
    `count_answers`: add the answers by class."""
    env = {
        **os.environ,
        "BENCH_PATHS": " ".join(cycle),
        "BENCH_COUNT_ANSWERS": "1" if count_answers else "",
    }
    argv = [
        binary,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        f"{timeout_s}s",
    ]
    for header in headers:
        argv += ["-H", header]
    argv += ["-s", str(WRK_LUA), url]
    done = subprocess.run(  # wrk against 127.0.0.1, bounded by -d
        argv, env=env, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"wrk exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    result: dict[str, Any] = json.loads(lines[-1].removeprefix(RESULT_PREFIX))
    return result
