"""Every documented label value is exposed from start-up at 0, and the list matches the code."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from stock_ticker.domain import errors
from stock_ticker.observability.metrics import BUDGET_REFUSAL_REASONS, UPSTREAM_OUTCOMES, Metrics


def error_classes(base: type[errors.UpstreamError]) -> set[str]:
    found = set()
    for cls in base.__subclasses__():
        found |= {cls.__name__, *error_classes(cls)}
    return found


def series(metrics: Metrics, sample: str, label: str) -> dict[str, float]:
    text = metrics.exposition().decode()
    return {
        s.labels[label]: s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == sample
    }


def test_the_outcomes_are_success_and_every_upstream_error_class() -> None:
    """The fetcher counts `type(exc).__name__`: a new error class needs its series too."""
    assert set(UPSTREAM_OUTCOMES) == {"success"} | error_classes(errors.UpstreamError)
    assert len(UPSTREAM_OUTCOMES) == len(set(UPSTREAM_OUTCOMES))


def test_every_outcome_and_refusal_reason_is_exposed_at_zero_from_the_start() -> None:
    metrics = Metrics()
    outcomes = series(metrics, "stock_api_upstream_requests_total", "outcome")
    assert outcomes == dict.fromkeys(UPSTREAM_OUTCOMES, 0.0)
    reasons = series(metrics, "stock_api_upstream_budget_refusals_total", "reason")
    assert reasons == dict.fromkeys(BUDGET_REFUSAL_REASONS, 0.0)
    methods = series(metrics, "http_requests_in_progress", "method")
    assert methods == {"GET": 0.0, "HEAD": 0.0, "OTHER": 0.0}


def test_counting_an_outcome_moves_only_its_own_series() -> None:
    metrics = Metrics()
    metrics.count_upstream("UpstreamTimeout")
    metrics.budget_refusals.labels(reason="hold_off").inc()
    outcomes = series(metrics, "stock_api_upstream_requests_total", "outcome")
    assert outcomes.pop("UpstreamTimeout") == 1
    assert set(outcomes.values()) == {0.0}
    reasons = series(metrics, "stock_api_upstream_budget_refusals_total", "reason")
    assert reasons == {"budget": 0.0, "hold_off": 1.0}
