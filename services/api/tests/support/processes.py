"""Starting servers as child processes: one launcher for the service, nginx, Prometheus,
redis-server and the fake upstream, in the tests, the infra tests and the bench.

A `ServerProcess` is a child on a 127.0.0.1 port (`free_port()`), its output going to a file;
`start` spawns it and asks its `Readiness` until it says yes (or the child exits, or time runs
out), `stop` sends its stop signal and kills it if it does not go. `service_process` is the
service as the tests run it: `python -m stock_ticker` over the caller's environment, on a port
of its own. Only the standard library, so the bench can use it as it is.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from . import procfs

SERVICE_ARGV = (sys.executable, "-m", "stock_ticker")
STARTUP_TIMEOUT = 15.0


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


#: urllib without the environment's proxies: 127.0.0.1 is asked directly, whatever http_proxy says.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Readiness(Protocol):
    """Whether a started process is ready, asked until it is (or time runs out)."""

    def __call__(self, port: int) -> bool: ...


@dataclass(frozen=True)
class HttpReady:
    """Ready when GET `path` answers 200."""

    path: str

    def __call__(self, port: int) -> bool:
        url = f"http://127.0.0.1:{port}{self.path}"
        try:
            with _DIRECT.open(url, timeout=1.0) as response:  # 127.0.0.1 only
                return bool(response.status == 200)
        except OSError:  # refused, reset, or an HTTP error status
            return False


def wait_for(ready: Readiness, port: int, timeout: float = STARTUP_TIMEOUT) -> float:
    """Ask `ready` about `port` until it says yes (a server this launcher did not start, such as
    a container's published port); return the seconds it took."""
    started = time.perf_counter()
    while time.perf_counter() < started + timeout:
        if ready(port):
            return time.perf_counter() - started
        time.sleep(0.05)  # polling for the listener, not hiding a race
    raise RuntimeError(f"127.0.0.1:{port} not ready within {timeout:g} s")


@dataclass
class ServerProcess:
    """One server subprocess on 127.0.0.1, its output going to `log_path`."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    port: int
    ready: Readiness
    stop_signal: signal.Signals = signal.SIGINT
    cwd: Path | None = None
    startup_timeout: float = STARTUP_TIMEOUT
    popen: dict[str, Any] = field(default_factory=dict)  # more options for subprocess.Popen
    _popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def proc(self) -> subprocess.Popen[bytes]:
        assert self._popen is not None, f"{self.name} was not started"
        return self._popen

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def spawn(self) -> None:
        with self.log_path.open("ab") as log:
            self._popen = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                **self.popen,
            )

    def is_ready(self) -> bool:
        """Ask `ready` once; a child that has exited is an error."""
        code = self.proc.poll()
        if code is not None:
            raise RuntimeError(f"{self} exited with {code} before it was ready:\n{self.tail()}")
        return self.ready(self.port)

    def start(self, timeout: float | None = None) -> float:
        """Spawn, then ask `ready` until it says yes; return spawn-to-ready seconds."""
        started = time.perf_counter()
        self.spawn()
        return self.wait_ready(timeout, since=started)

    def wait_ready(self, timeout: float | None = None, *, since: float | None = None) -> float:
        """Ask `ready` until it says yes (within `timeout`, default `startup_timeout`); return
        the seconds since `since` (a `time.perf_counter()`, default now)."""
        started = time.perf_counter() if since is None else since
        deadline = started + (self.startup_timeout if timeout is None else timeout)
        while time.perf_counter() < deadline:
            if self.is_ready():
                return time.perf_counter() - started
            time.sleep(0.005)  # polling for the listener, not hiding a race
        raise RuntimeError(f"{self} not ready within {deadline - started:g} s:\n{self.tail()}")

    async def start_async(self, timeout: float | None = None) -> float:
        """`start` for a caller on an event loop, which goes on running meanwhile."""
        started = time.perf_counter()
        self.spawn()
        deadline = started + (self.startup_timeout if timeout is None else timeout)
        while time.perf_counter() < deadline:
            if await asyncio.to_thread(self.is_ready):
                return time.perf_counter() - started
            await asyncio.sleep(0.05)  # polling for the listener, not hiding a race
        raise RuntimeError(f"{self} not ready within {deadline - started:g} s:\n{self.tail()}")

    def signal(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    async def wait_exit(self, timeout: float) -> int:
        return await asyncio.to_thread(self.proc.wait, timeout)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def tail(self, chars: int = 4000) -> str:
        return self.output()[-chars:] if self.log_path.exists() else ""

    def rss_mib(self) -> float:
        mib = procfs.rss_mib(self.pid)
        if mib is None:
            raise RuntimeError(f"no VmRSS for {self}")
        return mib

    def cpu_seconds(self) -> float:
        return procfs.cpu_seconds(self.pid)

    def stop(self, timeout: float = 15.0) -> None:
        """The stop signal; SIGKILL if it has not exited within `timeout` seconds."""
        if not self.running:
            return
        self.proc.send_signal(self.stop_signal)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:  # only if its shutdown hangs
            self.kill()

    def kill(self) -> None:
        """SIGKILL, and wait for it to be gone."""
        if self.running:
            self.proc.kill()
        self.proc.wait(timeout=5)

    def __enter__(self) -> ServerProcess:
        try:
            self.start()
        except BaseException:
            if self._popen is not None:
                self.stop()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __str__(self) -> str:
        return f"{self.name} (log {self.log_path})"


def service_process(
    env: Mapping[str, str],
    log_path: Path,
    *,
    base: Mapping[str, str] = os.environ,
    name: str = "service",
    cwd: Path | None = None,
    **popen: Any,
) -> ServerProcess:
    """`python -m stock_ticker` on a free port, `env` over `base` (the caller's environment, and
    so coverage's) with HOST and PORT set and DEBUG logs; STOCKS_API_KEY only if `env` has one.
    `popen`: more options for subprocess.Popen (a `preexec_fn`, say)."""
    port = free_port()
    full = {**base, "HOST": "127.0.0.1", "PORT": str(port), "LOG_LEVEL": "DEBUG", **env}
    if "STOCKS_API_KEY" not in env:
        full.pop("STOCKS_API_KEY", None)
    ready = HttpReady("/healthz")
    argv = list(SERVICE_ARGV)
    return ServerProcess(name, argv, full, log_path, port, ready, cwd=cwd, popen=popen)
