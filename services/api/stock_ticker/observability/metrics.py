"""Prometheus metrics, one registry per application so tests and workers never share state.

Names follow Prometheus conventions (base units, `_total` on counters). Labels carry only
bounded values: HTTP method, route template, status, outcome class names. Never a raw path or a
symbol: a label set that grows with user input is a memory leak in every scraper.
"""

from __future__ import annotations

import collections
import math
from bisect import bisect_left
from collections.abc import Awaitable, Callable, Iterator
from itertools import accumulate
from typing import TypeVar

from prometheus_async import aio
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

T = TypeVar("T")

#: Buckets for a service whose warm answers take well under a millisecond.
HTTP_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
#: Method label values: the two the API answers, and everything else as one.
HTTP_METHODS = ("GET", "HEAD", "OTHER")
UPSTREAM_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0)
#: Every `outcome` of an upstream call: success, or the class name of the error it raised.
UPSTREAM_OUTCOMES = (
    "success",
    "UpstreamTimeout",
    "UpstreamUnavailable",
    "UpstreamThrottled",
    "UpstreamRejected",
    "MalformedResponse",
    "UnknownSymbol",
)
#: Every `reason` an upstream call is not made: the call budget, or a throttle's hold-off.
BUDGET_REFUSAL_REASONS = ("budget", "hold_off")
CACHE_OUTCOMES = {
    "hit": "Series answered from a fresh cache entry.",
    "miss": "Requests that needed an upstream refresh.",
    "stale": "Series answered from a stale copy after a failure.",
}


class Metrics:
    """Every metric the service exposes, registered on a private registry.

    Each documented label value exists from start-up at 0, so a ratio or a per-outcome panel
    reads 0 rather than "no data" before the first event of its kind.
    """

    def __init__(self) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # `_created` samples double the scrape and say nothing here
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        r = self.registry
        self.requests = RequestStats(HTTP_BUCKETS)
        r.register(self.requests)
        #: Answers by cache outcome (`hit`, `miss`, `stale`), counted by the service.
        self._cache = self.requests.cache
        self.upstream_requests = Counter(
            "stock_api_upstream_requests",
            "Upstream calls by outcome (success or the error class).",
            ["outcome"],
            registry=r,
        )
        for outcome in UPSTREAM_OUTCOMES:
            self.upstream_requests.labels(outcome=outcome)
        self.upstream_duration = Histogram(
            "stock_api_upstream_request_duration_seconds",
            "Time an upstream call took, whatever its outcome.",
            buckets=UPSTREAM_BUCKETS,
            registry=r,
        )
        self.budget_refusals = Counter(
            "stock_api_upstream_budget_refusals",
            "Upstream calls not made because of the call budget or a throttle hold-off.",
            ["reason"],
            registry=r,
        )
        for reason in BUDGET_REFUSAL_REASONS:
            self.budget_refusals.labels(reason=reason)
        self.budget_remaining = Gauge(
            "stock_api_upstream_budget_remaining_calls",
            "Upstream calls left in the rolling 24-hour budget (+Inf when unlimited).",
            registry=r,
        )
        self.budget_remaining.set(float("inf"))
        self._render: Callable[[], Awaitable[bytes]] = self._own
        self.waiting = Gauge(
            "stock_api_refresh_waiting_requests",
            "Requests waiting on an upstream refresh right now.",
            registry=r,
        )
        self.waiting_overflow = Counter(
            "stock_api_refresh_waiting_overflow",
            "Requests answered at once (stale or 503) because MAX_WAITING_REQUESTS were waiting.",
            registry=r,
        )

    def track_shared_store(self) -> SharedStoreMetrics:
        """The shared store's gauge and error counter, registered only when `REDIS_URL` is set:
        without a shared store there is nothing for them to say."""
        return SharedStoreMetrics(self.registry)

    def bind_budget(self, remaining: Callable[[], float]) -> None:
        """Read the budget left at scrape time."""
        self.budget_remaining.set_function(remaining)

    def bind_waiting(self, waiting: Callable[[], float]) -> None:
        """Read the number of waiting requests at scrape time."""
        self.waiting.set_function(waiting)

    # What the service counts goes through these methods, one per kind of event, whatever
    # holds the number underneath (a plain counter on the loop, or a prometheus-client metric).

    def count_answer(self, outcome: str) -> None:
        """One answer by cache outcome: `hit`, `miss` or `stale` (on the warm path: a dict add)."""
        self._cache[outcome] += 1

    def count_upstream(self, outcome: str) -> None:
        """Count one upstream call (`time_upstream` times it)."""
        self.upstream_requests.labels(outcome=outcome).inc()

    async def time_upstream(self, call: Awaitable[T]) -> T:
        """What `call` gives, its duration observed whether it succeeds or fails."""
        result: T = await aio.time(self.upstream_duration, call)
        return result

    def count_refusal(self, reason: str) -> None:
        """One upstream call not made: `budget` or `hold_off`."""
        self.budget_refusals.labels(reason=reason).inc()

    def count_overflow(self) -> None:
        """One request answered at once because MAX_WAITING_REQUESTS were waiting."""
        self.waiting_overflow.inc()

    def exposition(self) -> bytes:
        """This process's own metrics in Prometheus text format."""
        return generate_latest(self.registry)

    def aggregate_with(self, render: Callable[[], Awaitable[bytes]]) -> None:
        """Answer scrapes with `render` instead: the sum over worker processes (workers.py)."""
        self._render = render

    async def render(self) -> tuple[bytes, str]:
        """What `/metrics` answers, and its content type."""
        return await self._render(), CONTENT_TYPE_LATEST

    async def _own(self) -> bytes:
        return self.exposition()


class SharedStoreMetrics:
    """Whether the shared store answers, and how many of its commands failed."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._up = Gauge(
            "stock_api_shared_store_up",
            "1 while the shared store (Redis/Valkey) answers, 0 while it is considered down.",
            registry=registry,
        )
        self._errors = Counter(
            "stock_api_shared_store_errors",
            "Shared store commands that failed or timed out.",
            registry=registry,
        )

    def set_up(self, up: bool) -> None:
        self._up.set(1 if up else 0)

    def count_error(self) -> None:
        self._errors.inc()


class _Durations:
    """Durations of the answers with one label set: a count per bucket (not yet cumulative)
    and their sum."""

    __slots__ = ("counts", "total")

    def __init__(self, buckets: int) -> None:
        self.counts = [0] * buckets
        self.total = 0.0

    def add(self, other: _Durations) -> None:
        self.counts = [a + b for a, b in zip(self.counts, other.counts, strict=True)]
        self.total += other.total


class RequestStats(Collector):
    """The per-request metrics (HTTP counts, durations, requests in progress, cache outcomes),
    kept as plain ints and lists and turned into Prometheus families only when scraped.

    prometheus-client's metric objects take a lock on every update; with four updates per
    request that was a measurable share of a warm request (docs/benchmarks.md). These values are
    only ever updated and scraped on the event loop's thread (each worker process has its own
    loop and registry), so they need no lock. The exposition is the same as the library's.
    """

    def __init__(self, buckets: tuple[float, ...]) -> None:
        self._bounds = (*buckets, math.inf)
        self._bucket_labels = [floatToGoString(b) for b in self._bounds]  # type: ignore[no-untyped-call]
        #: Requests being answered, by method label.
        self.in_progress: collections.Counter[str] = collections.Counter()
        #: Answers by cache outcome: `hit`, `miss`, `stale`.
        self.cache: collections.Counter[str] = collections.Counter()
        #: One entry per (method, route, status): the request count is the sum of its buckets.
        self._answers: dict[tuple[str, str, int], _Durations] = {}

    def started(self, method: str) -> None:
        """One more request of `method` being answered."""
        self.in_progress[method] += 1

    def finished(self, method: str) -> None:
        """One request of `method` answered (or abandoned)."""
        self.in_progress[method] -= 1

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count and time one answered request."""
        durations = self._answers.get((method, route, status))
        if durations is None:
            durations = self._answers[method, route, status] = _Durations(len(self._bounds))
        durations.counts[bisect_left(self._bounds, seconds)] += 1  # `le` bounds are inclusive
        durations.total += seconds

    def collect(self) -> Iterator[Metric]:
        answered = CounterMetricFamily(
            "http_requests", "HTTP requests answered.", labels=("method", "route", "status")
        )
        by_route: dict[tuple[str, str], _Durations] = {}
        for (method, route, status), series in sorted(self._answers.items()):
            answered.add_metric((method, route, str(status)), sum(series.counts))
            by_route.setdefault((method, route), _Durations(len(self._bounds))).add(series)
        yield answered
        durations = HistogramMetricFamily(
            "http_request_duration_seconds",
            "Time to answer an HTTP request.",
            labels=("method", "route"),
        )
        for labels, series in by_route.items():
            cumulative = zip(self._bucket_labels, accumulate(series.counts), strict=True)
            durations.add_metric(labels, list(cumulative), series.total)
        yield durations
        in_progress = GaugeMetricFamily(
            "http_requests_in_progress", "HTTP requests being answered.", labels=("method",)
        )
        for method in HTTP_METHODS:
            in_progress.add_metric((method,), self.in_progress[method])
        yield in_progress
        for outcome, documentation in CACHE_OUTCOMES.items():
            yield CounterMetricFamily(
                f"stock_api_cache_{outcome}", documentation, value=self.cache[outcome]
            )
