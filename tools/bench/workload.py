"""What the bench asks the service for: the symbols, the ndays values, the cold symbols."""

from __future__ import annotations

import random

SYMBOLS = ("MSFT", "AAPL", "GOOGL", "AMZN", "IBM", "NVDA", "META", "TSLA", "ORCL", "INTC")
NDAYS_VALUES = (1, 3, 5, 7, 10, 14, 21, 30, 60, 100)
COLD_PREFIX = "COLD"  # symbols COLD0, COLD1, ...: the fake upstream serves any symbol
SHARED_COLD_PREFIX = "SHARED"  # the stampede across the shared store's processes (issue 11)
SHARED_WARM_UP_PREFIX = "SHWARM"  # their warm-up: a cold symbol of each process's own


def spread_paths() -> tuple[str, ...]:
    """Every allowed symbol with varied ndays, in a fixed shuffled order."""
    paths = [f"/ndays?symbol={s}&ndays={n}" for s in SYMBOLS for n in NDAYS_VALUES]
    random.Random(5).shuffle(paths)  # a fixed order, not a secret
    return tuple(paths)


SPREAD = spread_paths()


def cold_symbol(round_no: int, prefix: str = COLD_PREFIX) -> str:
    return f"{prefix}{round_no}"


def allowed_symbols(stampede_rounds: int) -> list[str]:
    """ALLOWED_SYMBOLS of the main service: the warm symbols and the stampede's cold ones."""
    return [*SYMBOLS, *(cold_symbol(i) for i in range(stampede_rounds))]
