"""`WEB_CONCURRENCY` > 1: a supervisor runs that many worker processes sharing the port.

Each worker is an ordinary `python -m stock_ticker` bound with SO_REUSEPORT, so the kernel spreads
connections between them. Caches are per process: N workers may each call the upstream once per
symbol and TTL, so the supervisor gives each worker an equal share of UPSTREAM_DAILY_BUDGET and
UPSTREAM_RATE_PER_SECOND, and the total never exceeds what was configured. Signals are passed on
(SIGTERM drains every worker); if a worker dies on its own, the others are stopped and the
supervisor exits with an error, so the container runtime restarts the whole set.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from collections.abc import Mapping

from stock_ticker.config import Settings

log = logging.getLogger(__name__)

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
#: Set in a worker's environment, so it serves instead of supervising.
WORKER_FLAG = "STOCK_TICKER_WORKER"


def worker_environment(settings: Settings, environ: Mapping[str, str]) -> dict[str, str]:
    """The environment of one worker: the supervisor's, with the upstream budget shared out."""
    count = settings.web_concurrency
    daily = settings.upstream_daily_budget
    return {
        **environ,
        WORKER_FLAG: "1",
        "UPSTREAM_DAILY_BUDGET": str(max(1, daily // count) if daily else 0),
        "UPSTREAM_RATE_PER_SECOND": repr(settings.upstream_rate_per_second / count),
    }


def supervise(settings: Settings, environ: Mapping[str, str]) -> int:
    """Run the workers until a signal stops them; return the exit status."""
    env = worker_environment(settings, environ)
    workers = [
        subprocess.Popen([sys.executable, "-m", "stock_ticker"], env=env)
        for _ in range(settings.web_concurrency)
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
