"""The processes a run measures, each started the same way and all stopped at the end.

Every process is a subprocess on a free 127.0.0.1 port, with a clean environment (nothing from
the caller's shell may change the configuration) and its output going to a file in the run's
log directory. `Fleet.spawn` is the one way to start one; the fake upstream, the baseline, the
service and a redis-server are presets of it.

Issue 11's shared store (scenarios/shared_store.py): `Fleet.redis` is a redis-server of the run's
own on a free port, without persistence, ready when it answers PING; the services sharing it are
`service(..., env={"REDIS_URL": ...})` calls, each on its own port.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from bench import procfs
from bench.console import say
from bench.http_client import http_get
from bench.options import Options
from bench.paths import DATA_DIR, REPO, TOOLS
from bench.redis_client import answers_ping

INHERITED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Readiness(Protocol):
    """Whether a started process is ready to be measured, asked until it is (or times out)."""

    def __call__(self, port: int) -> bool: ...


@dataclass(frozen=True)
class HttpReady:
    """Ready when GET `path` answers 200."""

    path: str

    def __call__(self, port: int) -> bool:
        try:
            return http_get(f"http://127.0.0.1:{port}{self.path}", timeout=1.0).status == 200
        except OSError:
            return False


@dataclass
class ServerProcess:
    """One server subprocess on 127.0.0.1, its output going to a file."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    port: int
    ready: Readiness
    stop_signal: signal.Signals = signal.SIGINT
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} is not running"
        return self.process.pid

    def start(self, timeout: float = 15.0) -> float:
        """Spawn, then ask `ready` until it says yes; return spawn-to-ready seconds."""
        with self.log_path.open("ab") as log:
            started = time.perf_counter()
            self.process = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=REPO
            )
        deadline = started + timeout
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}; see {self}")
            if self.ready(self.port):
                return time.perf_counter() - started
            time.sleep(0.005)
        raise RuntimeError(f"{self.name} not ready within {timeout:g} s; see {self}")

    def rss_mib(self) -> float:
        mib = procfs.rss_mib(self.pid)
        if mib is None:
            raise RuntimeError(f"no VmRSS for {self}")
        return mib

    def cpu_seconds(self) -> float:
        return procfs.cpu_seconds(self.pid)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(self.stop_signal)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def __str__(self) -> str:
        return f"{self.name} (log {self.log_path})"


class Fleet:
    """Starts the run's processes the same way, and stops whatever it started."""

    def __init__(self, log_dir: Path, options: Options, allowed_symbols: Sequence[str]) -> None:
        self.log_dir = log_dir
        self.options = options
        self.allowed_symbols = list(allowed_symbols)
        self.started: list[ServerProcess] = []

    def spawn(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str],
        ready: Readiness,
        port: int | None = None,
    ) -> ServerProcess:
        """A process (not started yet) with `env` over a clean environment and PORT set;
        `port` when the argv names it already, else a free one."""
        port = free_port() if port is None else port
        log_path = self.log_dir / f"{len(self.started) + 1:02d}-{name}.log"
        base_env = {k: os.environ[k] for k in INHERITED_ENV if k in os.environ}
        server = ServerProcess(
            name, list(argv), {**base_env, **env, "PORT": str(port)}, log_path, port, ready
        )
        self.started.append(server)
        return server

    def _stand_in(self, kind: str, *args: str) -> ServerProcess:
        """One of stand_ins.py's servers (fake upstream, baseline), run from this package."""
        port = free_port()
        argv = [sys.executable, "-m", "bench.stand_ins", kind, "--port", str(port), *args]
        ready = HttpReady("/_stats" if kind == "upstream" else "/healthz")
        return self.spawn(kind, argv, {"PYTHONPATH": str(TOOLS)}, ready, port)

    def upstream(self) -> ServerProcess:
        latency = str(self.options.upstream_latency_ms)
        return self._stand_in("upstream", "--data-dir", str(DATA_DIR), "--latency-ms", latency)

    def baseline(self, body_size: int) -> ServerProcess:
        return self._stand_in(
            "baseline", "--body-size", str(body_size), "--loop", self.options.baseline_loop
        )

    def service(
        self,
        upstream_url: str,
        env: Mapping[str, str] | None = None,
        symbols: Sequence[str] | None = None,
        name: str = "service",
    ) -> ServerProcess:
        """The service as deployed: INFO logs and access log to stdout, metrics on.

        `env` replaces variables of that configuration, `symbols` the allowed symbols; a second
        kind of service in one table (REDIS_URL set, say) needs a `name` of its own, which keys
        its rows. With --service-src the code comes from that directory instead of the venv's.
        """
        configured = {
            "HOST": "127.0.0.1",
            "LOG_LEVEL": "INFO",
            "ENABLE_METRICS": "true",
            "STOCKS_API_KEY": "bench-not-a-real-key",
            "STOCKS_API_HOST": upstream_url + "/",
            "ALLOWED_SYMBOLS": ",".join(self.allowed_symbols if symbols is None else symbols),
            # The free tier's 1/s and 25/day would refuse the warm-up itself.
            "UPSTREAM_RATE_PER_SECOND": "0",
            "UPSTREAM_DAILY_BUDGET": "0",
            **(env or {}),
        }
        if self.options.service_src is not None:
            configured["PYTHONPATH"] = str(self.options.service_src)  # ahead of the install
        argv = [sys.executable, "-m", "stock_ticker"]
        return self.spawn(name, argv, configured, HttpReady("/healthz"))

    def redis(self, binary: str) -> ServerProcess:
        """A redis-server (`binary`) on 127.0.0.1 only, keeping nothing on disk: no snapshots,
        no append-only file, its working directory the run's log directory."""
        port = free_port()
        argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        argv += ["--appendonly", "no", "--dir", str(self.log_dir)]
        return self.spawn("redis-server", argv, {}, answers_ping, port)

    def stop_all(self) -> None:
        for server in reversed(self.started):
            server.stop()


@contextmanager
def log_directory(keep: bool) -> Iterator[Path]:
    """A fresh directory for the servers' output, removed after a run that went well."""
    path = Path(tempfile.mkdtemp(prefix="stock-ticker-bench-"))
    ok = False
    try:
        yield path
        ok = True
    finally:
        if ok and not keep:
            shutil.rmtree(path, ignore_errors=True)
        else:
            say(f"servers' output kept in {path}")
