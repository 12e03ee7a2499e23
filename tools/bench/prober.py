"""A liveness and memory prober, in a forked process so the bench's own load cannot delay it.

It asks `/healthz` every PROBE_INTERVAL_S on one keep-alive connection, reads the service's
VmRSS as often, and scrapes `/metrics` every PROBE_METRICS_EVERY probes on another connection.
Ticks a probe overran are skipped (and counted), not sent late in a burst.
"""

from __future__ import annotations

import http.client
import multiprocessing
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event

from support import procfs

from bench.console import say
from bench.processes import ServerProcess

PROBE_INTERVAL_S = 0.1
PROBE_METRICS_EVERY = 5  # one /metrics scrape every 5 probes


@dataclass(frozen=True)
class MetricsFigures:
    """The few /metrics figures the abandoned-clients scenario watches (None: not exposed)."""

    waiting: float | None = None
    overflow: float | None = None
    in_progress: float | None = None


def metrics_figures(text: str) -> MetricsFigures:
    waiting = overflow = in_progress = None
    for line in text.splitlines():
        name, _, value = line.rpartition(" ")
        if name == "stock_api_refresh_waiting_requests":
            waiting = float(value)
        elif name == "stock_api_refresh_waiting_overflow_total":
            overflow = float(value)
        elif name.startswith("http_requests_in_progress{"):
            in_progress = (in_progress or 0.0) + float(value)
    return MetricsFigures(waiting, overflow, in_progress)


@dataclass
class ProbeSamples:
    healthz: list[tuple[float, float | None]] = field(default_factory=list)  # (monotonic, s)
    rss: list[tuple[float, float]] = field(default_factory=list)  # (monotonic, MiB)
    metrics: list[tuple[float, MetricsFigures]] = field(default_factory=list)
    skipped: int | None = None  # None: the prober ended without its samples


class _Connections:
    """One keep-alive connection per purpose, reopened after a failure."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.open: dict[str, http.client.HTTPConnection] = {}

    def get(self, which: str, path: str) -> tuple[int, bytes]:
        conn = self.open.get(which)
        if conn is None:
            conn = self.open[which] = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException):
            conn.close()
            del self.open[which]
            raise

    def close(self) -> None:
        for conn in self.open.values():
            conn.close()


def _probe(port: int, pid: int, results: Connection, stop: Event, bound: float) -> None:
    """The child process: probe until `stop` is set (at most `bound` s), then send the samples."""
    samples = ProbeSamples(skipped=0)
    connections = _Connections(port)
    started = time.monotonic()
    tick = skipped = 0
    while not stop.is_set() and time.monotonic() - started < bound:
        due = started + tick * PROBE_INTERVAL_S
        if due > time.monotonic():
            time.sleep(due - time.monotonic())
        at = time.monotonic()
        timer = time.perf_counter()
        try:
            status, _ = connections.get("healthz", "/healthz")
            samples.healthz.append((at, time.perf_counter() - timer if status == 200 else None))
        except (OSError, http.client.HTTPException):
            samples.healthz.append((at, None))
        mib = procfs.rss_mib(pid)
        if mib is not None:
            samples.rss.append((time.monotonic(), mib))
        if tick % PROBE_METRICS_EVERY == 0:
            try:
                status, body = connections.get("metrics", "/metrics")
                if status == 200:
                    samples.metrics.append((time.monotonic(), metrics_figures(body.decode())))
            except (OSError, http.client.HTTPException):
                pass
        next_tick = int((time.monotonic() - started) / PROBE_INTERVAL_S) + 1
        skipped += max(0, next_tick - tick - 1)
        tick = max(tick + 1, next_tick)
    connections.close()
    samples.skipped = skipped
    results.send(samples)
    results.close()


@contextmanager
def prober(service: ServerProcess, bound: float) -> Iterator[Callable[[], ProbeSamples]]:
    """Probe `service` from a forked process; the yielded function stops it and returns its
    samples (also called on the way out, so the child never outlives the block)."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    stop = context.Event()
    process = context.Process(
        target=_probe, args=(service.port, service.pid, send, stop, bound), daemon=True
    )
    process.start()
    send.close()
    finished: list[ProbeSamples] = []

    def finish() -> ProbeSamples:
        if not finished:
            stop.set()
            samples = ProbeSamples()
            try:
                if receive.poll(15):
                    received = receive.recv()
                    assert isinstance(received, ProbeSamples)
                    samples = received
            except EOFError:
                say("the /healthz prober ended without its samples")
            process.join(5)
            finished.append(samples)
        return finished[0]

    try:
        yield finish
    finally:
        finish()
        if process.is_alive():
            process.kill()
            process.join(5)
