"""The recorded reports as fixtures (recorded.py says what each one is)."""

from __future__ import annotations

import pytest

from bench.results import Report
from tests.recorded import recorded


@pytest.fixture
def full_run() -> Report:
    return recorded("full-run-3c24ea8")


@pytest.fixture
def issue9_run() -> Report:
    return recorded("issue9-quick-83dcb1c")


@pytest.fixture
def quick_run() -> Report:
    return recorded("quick-run-0349406")


@pytest.fixture
def redis_run() -> Report:
    return recorded("redis-quick-ec9dead")


@pytest.fixture
def compare_run() -> Report:
    return recorded("compare-quick-717a1d0")
