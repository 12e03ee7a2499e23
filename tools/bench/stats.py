"""The two summaries the bench uses: medians over rounds, nearest-rank percentiles of probes."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def median(values: Sequence[float]) -> float:
    """Median, NaN when there is nothing to summarise (a figure the report shows as nan)."""
    return float(statistics.median(values)) if values else float("nan")


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile of `values` (NaN when empty)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered)) - 1))]
