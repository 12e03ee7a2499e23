"""What the figures depend on besides the code: the machine, the versions, how quiet it was."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from bench.options import Options
from bench.paths import REPO
from bench.results import LoadAverage, Machine

PACKAGES = (
    "stock-ticker",
    "aiohttp",
    "uvloop",
    "orjson",
    "marshmallow",
    "aiohttp-apigami",
    "aiocache",
    "prometheus-client",
    "multidict",
    "yarl",
)


def machine(options: Options) -> Machine:
    """Read before the run: the commit measured, not whatever HEAD is at the end."""
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    versions: dict[str, str | None] = {}
    for package in PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    wrk_version: list[str] = []
    if shutil.which("wrk"):
        wrk_version = subprocess.run(
            ["wrk", "-v"], capture_output=True, text=True, check=False
        ).stdout.splitlines()
    src = options.service_src
    service_commit, service_dirty_paths = checkout(src) if src else (None, [])
    return Machine(
        nproc=os.cpu_count(),
        cpu=cpu,
        kernel=platform.release(),
        python=platform.python_version(),
        packages=versions,
        wrk=wrk_version[0].split(" Copyright")[0] if wrk_version else "unknown",
        commit=_git("rev-parse", "--short", "HEAD"),
        dirty_paths=_git("status", "--porcelain", "--", "services").splitlines(),
        service_src=str(src) if src else None,
        service_commit=service_commit,
        service_dirty_paths=service_dirty_paths,
    )


def checkout(src: Path) -> tuple[str | None, list[str]]:
    """The commit of the checkout holding `src` and its uncommitted paths below `src`; (None, [])
    when `src` is in no git checkout."""
    commit = _git("rev-parse", "--short", "HEAD", cwd=src)
    if not commit:
        return None, []
    return commit, _git("status", "--porcelain", "--", ".", cwd=src).splitlines()


def _git(*args: str, cwd: Path = REPO) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    return done.stdout.strip()


def command_line(argv: Sequence[str]) -> str:
    """How this run was asked for, as the report shows it."""
    if os.environ.get("MAKELEVEL"):
        return "make bench" + (f" BENCH_ARGS={shlex.quote(shlex.join(argv))}" if argv else "")
    return shlex.join(["python", "-m", "bench", *argv])


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()


def load_average_around(before: tuple[float, float, float]) -> LoadAverage:
    return LoadAverage(before=before, after=os.getloadavg())
