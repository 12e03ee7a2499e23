"""The hand-kept request metrics expose exactly what prometheus-client's own metrics would."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from stock_ticker.observability.metrics import HTTP_BUCKETS, HTTP_METHODS, Metrics, RequestStats

OBSERVATIONS = [
    ("GET", "/ndays", 200, 0.0004),
    ("GET", "/ndays", 200, 0.0005),  # on a bucket bound: `le` is inclusive
    ("GET", "/ndays", 200, 0.0051),
    ("GET", "/ndays", 503, 0.3),
    ("HEAD", "/healthz", 200, 0.0),
    ("OTHER", "unmatched", 405, 12.0),  # beyond the largest bound: +Inf only
]


def library_exposition(in_progress: dict[str, int], cache: dict[str, int]) -> bytes:
    registry = CollectorRegistry()
    answered = Counter(
        "http_requests", "HTTP requests answered.", ["method", "route", "status"], registry=registry
    )
    durations = Histogram(
        "http_request_duration_seconds",
        "Time to answer an HTTP request.",
        ["method", "route"],
        buckets=HTTP_BUCKETS,
        registry=registry,
    )
    gauge = Gauge(
        "http_requests_in_progress",
        "HTTP requests being answered.",
        ["method"],
        registry=registry,
    )
    for method, route, status, seconds in OBSERVATIONS:
        answered.labels(method, route, str(status)).inc()
        durations.labels(method, route).observe(seconds)
    for method in HTTP_METHODS:
        gauge.labels(method).set(in_progress.get(method, 0))
    documentation = {
        "hit": "Series answered from a fresh cache entry.",
        "miss": "Requests that needed an upstream refresh.",
        "stale": "Series answered from a stale copy after a failure.",
    }
    for outcome, text in documentation.items():
        Counter(f"stock_api_cache_{outcome}", text, registry=registry).inc(cache.get(outcome, 0))
    return generate_latest(registry)


def test_request_stats_expose_what_the_library_metrics_would() -> None:
    Metrics()  # turns off `_created` samples, as the service does
    stats = RequestStats(HTTP_BUCKETS)
    registry = CollectorRegistry()
    registry.register(stats)
    for observation in reversed(OBSERVATIONS):  # order of arrival does not matter
        stats.observe(*observation)
    stats.in_progress["GET"] += 2
    stats.cache["hit"] += 3
    stats.cache["stale"] += 1

    assert generate_latest(registry) == library_exposition({"GET": 2}, {"hit": 3, "stale": 1})


def test_request_stats_are_registered_with_the_service_metrics() -> None:
    metrics = Metrics()
    metrics.requests.observe("GET", "/ndays", 200, 0.002)

    registry = metrics.registry
    assert (
        registry.get_sample_value(
            "http_requests_total", {"method": "GET", "route": "/ndays", "status": "200"}
        )
        == 1
    )
    assert (
        registry.get_sample_value(
            "http_request_duration_seconds_bucket",
            {"method": "GET", "route": "/ndays", "le": "0.001"},
        )
        == 0
    )
    assert (
        registry.get_sample_value(
            "http_request_duration_seconds_bucket",
            {"method": "GET", "route": "/ndays", "le": "0.0025"},
        )
        == 1
    )
    assert registry.get_sample_value("stock_api_cache_miss_total") == 0
