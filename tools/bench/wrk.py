"""Load generation for the warm scenarios: wrk, through the one wrk script and runner, which the
soak test uses too (services/api/tests/support/wrk.py and wrk.lua).

wrk is not installed by the bench: CI's .ci/run installs Debian's package, and the README says
to (`apt-get install wrk`).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass

from support.wrk import run_wrk

from bench.codec import decode_as
from bench.results import WrkOutput, WrkResult


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
        connections = load.connections or self.connections
        figures = run_wrk(
            self.binary,
            base_url + load.path,
            threads=min(self.threads, connections),
            connections=connections,
            seconds=seconds,
            timeout_s=5,
            headers=load.headers,
            cycle=load.cycle,
        )
        output = decode_as(WrkOutput, figures)
        seconds_run = output.duration_us / 1e6
        e = output.errors
        return WrkResult(
            **vars(output),
            rps=output.requests / seconds_run if seconds_run else 0.0,
            error_count=e.connect + e.read + e.write + e.status + e.timeout,
            bytes_per_response=output.bytes / max(output.requests, 1),
        )
