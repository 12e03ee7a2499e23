"""Refusals the service decides on itself, before any upstream call."""

from __future__ import annotations


class BudgetExhausted(Exception):
    """Calling the upstream now would exceed the per-second or per-day budget."""

    def __init__(self, detail: str, *, retry_after: float) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after
