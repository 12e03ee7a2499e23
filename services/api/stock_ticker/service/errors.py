"""Refusals the service decides on itself, before any upstream call."""

from __future__ import annotations

import copy
from typing import TypeVar

E = TypeVar("E", bound=Exception)


class BudgetExhausted(Exception):
    """Calling the upstream now would exceed the per-second or per-day budget."""

    def __init__(self, detail: str, *, retry_after: float = 0.0) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after


class TooManyWaiting(Exception):
    """So many requests already wait on refreshes that this one is answered at once instead."""

    def __init__(self, detail: str, *, retry_after: float) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after


def restated(cause: E, detail: str, retry_after: float) -> E:
    """`cause` again as a new exception of its type, with this detail and `retry_after`: the
    answer given without a call while a rest or hold-off it started is in force."""
    again = copy.copy(cause)
    again.args = (detail,)
    vars(again).update(detail=detail, retry_after=retry_after)
    return again
