"""Prometheus metrics, one registry per application so tests and workers never share state.

Names follow Prometheus conventions (base units, `_total` on counters). Labels carry only
bounded values: HTTP method, route template, status, outcome class names. Never a raw path or a
symbol: a label set that grows with user input is a memory leak in every scraper.
"""

from __future__ import annotations

import collections
import functools
from collections.abc import Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

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


class Metrics:
    """Every metric the service exposes, registered on a private registry."""

    def __init__(self) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # `_created` samples double the scrape and say nothing here
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        r = self.registry
        self.http_requests = Counter(
            "http_requests", "HTTP requests answered.", ["method", "route", "status"], registry=r
        )
        self.http_duration = Histogram(
            "http_request_duration_seconds",
            "Time to answer an HTTP request.",
            ["method", "route"],
            buckets=HTTP_BUCKETS,
            registry=r,
        )
        self.http_in_progress = Gauge(
            "http_requests_in_progress", "HTTP requests being answered.", ["method"], registry=r
        )
        self.cache_hit = Counter(
            "stock_api_cache_hit", "Series answered from a fresh cache entry.", registry=r
        )
        self.cache_miss = Counter(
            "stock_api_cache_miss", "Requests that needed an upstream refresh.", registry=r
        )
        self.cache_stale = Counter(
            "stock_api_cache_stale",
            "Series answered from a stale copy after a failure.",
            registry=r,
        )
        self.upstream_requests = Counter(
            "stock_api_upstream_requests",
            "Upstream calls by outcome (success or the error class).",
            ["outcome"],
            registry=r,
        )
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
        self.budget_remaining = Gauge(
            "stock_api_upstream_budget_remaining_calls",
            "Upstream calls left in the rolling 24-hour budget (+Inf when unlimited).",
            registry=r,
        )
        self.budget_remaining.set(float("inf"))
        # Label values are bounded (methods, route templates, statuses), so these stay small.
        # Requests in progress are plain ints read at scrape time: a Gauge's lock on every
        # request costs more than the rest of the metrics (docs/benchmarks.md).
        self.in_progress: collections.Counter[str] = collections.Counter()
        for method in HTTP_METHODS:
            child = self.http_in_progress.labels(method=method)
            child.set_function(functools.partial(self.in_progress.__getitem__, method))
        self._http_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe_http(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count and time one answered request (children bound once per label set)."""
        key = (method, route, status)
        children = self._http_children.get(key)
        if children is None:
            children = self._http_children[key] = (
                self.http_requests.labels(method, route, str(status)),
                self.http_duration.labels(method, route),
            )
        children[0].inc()
        children[1].observe(seconds)

    def bind_budget(self, remaining: Callable[[], float]) -> None:
        """Read the budget left at scrape time."""
        self.budget_remaining.set_function(remaining)

    def observe_upstream(self, outcome: str, seconds: float) -> None:
        self.upstream_requests.labels(outcome=outcome).inc()
        self.upstream_duration.observe(seconds)

    def render(self) -> tuple[bytes, str]:
        """The exposition in Prometheus text format, and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
