"""infra/docker/reload.py, which `make docker-run` uses for hot reload, against the real service."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from pathlib import Path

import stock_ticker
from support import ROOT
from tests.support.processes import HttpReady, ServerProcess, free_port

RELOAD = ROOT / "infra" / "docker" / "reload.py"


def test_reload_restarts_on_a_change_and_stops_on_sigterm(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(
        Path(stock_ticker.__file__).parent,
        src / "stock_ticker",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    port = free_port()
    env = dict(
        os.environ,
        PYTHONPATH=str(src),
        PORT=str(port),
        HOST="127.0.0.1",
        SHUTDOWN_DRAIN_SECONDS="0",
    )
    env.pop("STOCKS_API_KEY", None)
    log = tmp_path / "reload.log"
    args = [
        sys.executable,
        str(RELOAD),
        str(src / "stock_ticker"),
        "--",
        sys.executable,
        "-m",
        "stock_ticker",
    ]
    ready = HttpReady("/healthz")
    server = ServerProcess("reload", args, env, log, port, ready, cwd=ROOT, startup_timeout=20)
    with server:
        (src / "stock_ticker" / "app.py").touch()
        os.utime(src / "stock_ticker" / "app.py", (time.time() + 5, time.time() + 5))
        deadline = time.monotonic() + 15
        while "restarting" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        server.wait_ready(20)
        assert log.read_text().count('"listening"') == 2
        server.signal(signal.SIGTERM)
        assert server.proc.wait(timeout=20) == 0
    assert '"stopped"' in log.read_text()
