#!/usr/bin/env python3
"""Regenerate the bundled sample series (synthetic, clearly labelled, reproducible).

The service serves these when no STOCKS_API_KEY is set, so `make run` works offline. They are a
seeded random walk in the exact Alpha Vantage TIME_SERIES_DAILY shape, parsed by the same code
as live answers. They are not real prices, and every file says so in its metadata.

Usage: python scripts/make_sample_data.py [OUTPUT_DIR]
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sys
from pathlib import Path

LAST_DAY = dt.date(2026, 11, 27)
TRADING_DAYS = 130
# Start prices are round figures of the right order of magnitude, nothing more.
SYMBOLS = {
    "MSFT": 420.0,
    "AAPL": 230.0,
    "GOOGL": 170.0,
    "AMZN": 200.0,
    "IBM": 220.0,
    "NVDA": 140.0,
    "META": 580.0,
    "TSLA": 330.0,
    "ORCL": 180.0,
    "INTC": 24.0,
}
NOTICE = "SYNTHETIC SAMPLE DATA (not real prices): set STOCKS_API_KEY for live Alpha Vantage data"


def weekdays_back(last: dt.date, count: int) -> list[dt.date]:
    days: list[dt.date] = []
    day = last
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day -= dt.timedelta(days=1)
    return days


def series(symbol: str, start: float, rng: random.Random) -> dict[str, object]:
    rows: dict[str, dict[str, str]] = {}
    close = start
    for day in reversed(weekdays_back(LAST_DAY, TRADING_DAYS)):
        open_ = close * (1 + rng.gauss(0, 0.004))
        close = open_ * (1 + rng.gauss(0.0003, 0.012))
        high = max(open_, close) * (1 + abs(rng.gauss(0, 0.005)))
        low = min(open_, close) * (1 - abs(rng.gauss(0, 0.005)))
        volume = int(rng.uniform(8e6, 40e6))
        rows[day.isoformat()] = {
            "1. open": f"{open_:.4f}",
            "2. high": f"{high:.4f}",
            "3. low": f"{low:.4f}",
            "4. close": f"{close:.4f}",
            "5. volume": str(volume),
        }
    newest_first = dict(sorted(rows.items(), reverse=True))
    return {
        "Meta Data": {
            "1. Information": NOTICE,
            "2. Symbol": symbol,
            "3. Last Refreshed": LAST_DAY.isoformat(),
            "4. Output Size": "Compact",
            "5. Time Zone": "US/Eastern",
        },
        "Time Series (Daily)": newest_first,
    }


def main() -> None:
    default = Path(__file__).resolve().parents[1] / "services/api/stock_ticker/upstream/data"
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else default
    out.mkdir(parents=True, exist_ok=True)
    for symbol, start in SYMBOLS.items():
        rng = random.Random(symbol)
        path = out / f"{symbol}.json"
        path.write_text(json.dumps(series(symbol, start, rng), indent=1) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
