"""The processes a run measures, each started the same way and all stopped at the end.

Every process is a subprocess on a free 127.0.0.1 port, with a clean environment (nothing from
the caller's shell may change the configuration) and its output going to a file in the run's
log directory. Each is a `ServerProcess`, the launcher the tests use too (support.processes);
`Fleet` starts them the bench's way: the fake upstream (the tests' own, support.fake_upstream),
the baseline, the service and a redis-server are presets of `Fleet.spawn`.

Issue 11's shared store (scenarios/shared_store.py): `Fleet.redis` is a redis-server of the run's
own on a free port, without persistence, ready when it answers PING; the services sharing it are
`service(..., env={"REDIS_URL": ...})` calls, each on its own port.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from support.processes import HttpReady, Readiness, ServerProcess, free_port, service_process
from support.redis_server import redis_process

from bench.console import say
from bench.options import Options
from bench.paths import REPO, TOOLS

__all__ = ["Fleet", "HttpReady", "Readiness", "ServerProcess", "free_port", "log_directory"]

INHERITED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
SERVICE_API = REPO / "services" / "api"  # where `tests.support.fake_upstream` is found


class Fleet:
    """Starts the run's processes the same way, and stops whatever it started."""

    def __init__(self, log_dir: Path, options: Options, allowed_symbols: Sequence[str]) -> None:
        self.log_dir = log_dir
        self.options = options
        self.allowed_symbols = list(allowed_symbols)
        self.started: list[ServerProcess] = []
        self.base_env = {k: os.environ[k] for k in INHERITED_ENV if k in os.environ}
        # The same hash seed in every process: processes of the same code compared with each
        # other then lay out their dicts and sets alike.
        self.base_env["PYTHONHASHSEED"] = "0"

    def _log_path(self, name: str) -> Path:
        return self.log_dir / f"{len(self.started) + 1:02d}-{name}.log"

    def _adopt(self, server: ServerProcess) -> ServerProcess:
        server.cwd = REPO
        self.started.append(server)
        return server

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
        full_env = {**self.base_env, **env, "PORT": str(port)}
        return self._adopt(
            ServerProcess(name, list(argv), full_env, self._log_path(name), port, ready)
        )

    def upstream(self) -> ServerProcess:
        """The fake Alpha Vantage (support.fake_upstream) with the run's latency; a symbol
        without a sample file gets MSFT's, relabelled, so there is always a cold symbol."""
        port = free_port()
        argv = [sys.executable, "-m", "tests.support.fake_upstream", "--port", str(port)]
        argv += ["--latency-ms", str(self.options.upstream_latency_ms), "--stand-in", "MSFT"]
        env = {"PYTHONPATH": str(SERVICE_API)}
        return self.spawn("upstream", argv, env, HttpReady("/_stats"), port)

    def baseline(self, body_size: int) -> ServerProcess:
        """stand_ins.py's bare aiohttp app, on the loop the options name."""
        port = free_port()
        argv = [sys.executable, "-m", "bench.stand_ins", "baseline", "--port", str(port)]
        argv += ["--body-size", str(body_size), "--loop", self.options.baseline_loop]
        return self.spawn("baseline", argv, {"PYTHONPATH": str(TOOLS)}, HttpReady("/healthz"), port)

    def service(
        self,
        upstream_url: str,
        env: Mapping[str, str] | None = None,
        symbols: Sequence[str] | None = None,
        name: str = "service",
        src: Path | None = None,
    ) -> ServerProcess:
        """The service as deployed: INFO logs and access log to stdout, metrics on.

        `env` replaces variables of that configuration, `symbols` the allowed symbols; a second
        kind of service in one table (REDIS_URL set, say) needs a `name` of its own, which keys
        its rows. With --service-src the code comes from that directory instead of the venv's;
        `src` (--compare-src's) overrides it for this process.
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
        src = self.options.service_src if src is None else src
        if src is not None:
            configured["PYTHONPATH"] = str(src)  # ahead of the install
        log_path = self._log_path(name)
        return self._adopt(service_process(configured, log_path, base=self.base_env, name=name))

    def redis(self, binary: str) -> ServerProcess:
        """A redis-server (`binary`) on 127.0.0.1 only, keeping nothing on disk: no snapshots,
        no append-only file, its working directory the run's log directory; ready on PING."""
        return self._adopt(redis_process(binary, self.log_dir, self._log_path("redis-server")))

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
