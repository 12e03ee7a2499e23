"""`WEB_CONCURRENCY` > 1: a supervisor runs that many worker processes sharing the port.

Each worker is an ordinary `python -m stock_ticker` bound with SO_REUSEPORT, so the kernel spreads
connections between them. Caches are per process: N workers may each call the upstream once per
symbol and TTL, so the supervisor gives each worker an equal share of UPSTREAM_DAILY_BUDGET and
UPSTREAM_RATE_PER_SECOND, and the total never exceeds what was configured. With REDIS_URL the
workers share one cache, flight and budget through the shared store instead, so nothing is
split. Signals are passed on
(SIGTERM drains every worker); if a worker dies on its own, the others are stopped and the
supervisor exits with an error, so the container runtime restarts the whole set.

Metrics: each worker has its own registry, so a scrape answered by one worker adds up every
worker's metrics, read from the others over unix sockets in a directory the supervisor makes
(see observability/aggregate.py for why, and why not prometheus-client's multiprocess mode).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

from aiohttp import web

from stock_ticker.config import Settings
from stock_ticker.observability.aggregate import WorkerMetrics
from stock_ticker.server import ListenError
from stock_ticker.web.state import METRICS

log = logging.getLogger(__name__)

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
#: Set in a worker's environment, so it serves instead of supervising: the worker's index.
WORKER_FLAG = "STOCK_TICKER_WORKER"
#: Set in a worker's environment: where the workers' metrics sockets are.
METRICS_DIR = "STOCK_TICKER_METRICS_DIR"


def worker_environment(
    settings: Settings, environ: Mapping[str, str], index: int, metrics_dir: str
) -> dict[str, str]:
    """The environment of one worker: the supervisor's, with the upstream budget shared out
    (not with REDIS_URL: the workers then count one budget in the shared store)."""
    count = settings.web_concurrency
    daily = settings.upstream_daily_budget
    shares = {
        "UPSTREAM_DAILY_BUDGET": str(max(1, daily // count) if daily else 0),
        "UPSTREAM_RATE_PER_SECOND": repr(settings.upstream_rate_per_second / count),
    }
    return {
        **environ,
        WORKER_FLAG: str(index),
        METRICS_DIR: metrics_dir,
        **({} if settings.redis_url else shares),
    }


def metrics_socket(metrics_dir: str, index: int) -> Path:
    return Path(metrics_dir) / f"worker-{index}.sock"


def share_metrics(
    app: web.Application, settings: Settings, environ: Mapping[str, str]
) -> web.Application:
    """In a worker with metrics on, make `/metrics` answer for every worker; else change nothing."""
    directory = environ.get(METRICS_DIR)
    if not settings.enable_metrics or directory is None or WORKER_FLAG not in environ:
        return app
    index = int(environ[WORKER_FLAG])
    metrics = app[METRICS]
    siblings = [metrics_socket(directory, i) for i in range(settings.web_concurrency) if i != index]
    # With REDIS_URL every worker reports the one budget of the shared store, not a share of it.
    shared = frozenset({"stock_api_upstream_budget_remaining_calls"} if settings.redis_url else ())
    workers = WorkerMetrics(
        metrics.exposition, metrics_socket(directory, index), siblings, deployment_wide=shared
    )
    metrics.aggregate_with(workers.render)

    async def serve_siblings(app: web.Application) -> AsyncIterator[None]:
        await workers.start()  # runs before the listener opens, ends after it closes
        yield
        await workers.stop()

    app.cleanup_ctx.append(serve_siblings)
    return app


def check_address(settings: Settings) -> None:
    """Raise `ListenError` unless HOST:PORT is free for this set of workers.

    The workers listen with SO_REUSEPORT, which the kernel grants to any process of the same
    user already listening the same way: a second set started on a busy port would quietly
    share it with the first. A listener bound here without SO_REUSEPORT is refused instead, so
    a port in use (or a HOST that is not ours) is one line before any worker starts.
    """
    try:
        found = socket.getaddrinfo(
            settings.host, settings.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        for family, kind, proto, _, address in found:
            with socket.socket(family, kind, proto) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp does
                probe.bind(address)
    except OSError as exc:
        raise ListenError(settings, exc) from None


def supervise(settings: Settings, environ: Mapping[str, str]) -> int:
    """Run the workers until a signal stops them; return the exit status. `ListenError` if
    the address is not free (`check_address`), before any worker starts."""
    check_address(settings)
    metrics_dir = tempfile.mkdtemp(prefix="stock-ticker-metrics-")
    try:
        return _supervise(settings, environ, metrics_dir)
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


def _supervise(settings: Settings, environ: Mapping[str, str], metrics_dir: str) -> int:
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "stock_ticker"],
            env=worker_environment(settings, environ, index, metrics_dir),
        )
        for index in range(settings.web_concurrency)
    ]
    stopping = False

    def forward(sig: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for worker in workers:
            # os.kill, not Popen.send_signal: that polls, and a reap here would hide the exit
            # status from the os.wait() loop below. A worker not yet reaped cannot be reused.
            if worker.returncode is None:
                os.kill(worker.pid, sig)

    for sig in _STOP_SIGNALS:
        signal.signal(sig, forward)
    log.info("supervising workers", extra={"workers": [w.pid for w in workers]})
    pending = {worker.pid: worker for worker in workers}
    status = 0
    while pending:
        pid, wait_status = os.wait()  # retried after a signal handler runs (PEP 475)
        worker = pending.pop(pid)
        worker.returncode = os.waitstatus_to_exitcode(wait_status)
        # A worker still starting when the signal came dies of it: a clean stop all the same.
        if worker.returncode != 0 and not (stopping and -worker.returncode in _STOP_SIGNALS):
            status = 1
            log.error("worker died; stopping the others", extra={"pid": pid})
            forward(signal.SIGTERM, None)
    return status
