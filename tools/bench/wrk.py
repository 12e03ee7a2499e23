"""Load generation for the warm scenarios: wrk, driven through wrk.lua.

wrk is not installed by the bench: CI's .ci/run installs Debian's package, and the README says
to (`apt-get install wrk`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass

from bench.codec import decode_as
from bench.paths import PACKAGE
from bench.results import WrkOutput, WrkResult

WRK_LUA = PACKAGE / "wrk.lua"


def find_wrk() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("the warm scenarios need wrk: apt-get install wrk (see the README)")
    return found


@dataclass(frozen=True)
class Load:
    """What wrk sends: one static target, or a list of targets it cycles through."""

    key: str
    path: str
    cycle: tuple[str, ...] = ()
    connections: int | None = None  # None: the run's --connections (and --threads)
    headers: tuple[str, ...] = ()  # "Name: value", on every request


@dataclass(frozen=True)
class Wrk:
    binary: str
    threads: int
    connections: int

    def run(self, base_url: str, load: Load, seconds: int) -> WrkResult:
        """Run wrk for `seconds` and return the figures its done() hook printed."""
        env = {**os.environ, "BENCH_PATHS": " ".join(load.cycle)}
        connections = load.connections or self.connections
        threads = min(self.threads, connections)
        argv = [self.binary, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s"]
        for header in load.headers:
            argv += ["-H", header]
        argv += ["-s", str(WRK_LUA), base_url + load.path]
        done = subprocess.run(  # wrk against 127.0.0.1, bounded by -d
            argv, env=env, capture_output=True, text=True, timeout=seconds + 60, check=False
        )
        for line in done.stdout.splitlines():
            if line.startswith("BENCH_JSON "):
                output = decode_as(WrkOutput, json.loads(line.removeprefix("BENCH_JSON ")))
                break
        else:
            raise RuntimeError(f"wrk printed no result:\n{done.stdout}\n{done.stderr}")
        seconds_run = output.duration_us / 1e6
        e = output.errors
        return WrkResult(
            **vars(output),
            rps=output.requests / seconds_run if seconds_run else 0.0,
            error_count=e.connect + e.read + e.write + e.status + e.timeout,
            bytes_per_response=output.bytes / max(output.requests, 1),
        )
