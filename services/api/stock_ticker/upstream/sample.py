"""Bundled sample series, served when no API key is configured, so the service works offline.

The files are real daily prices to 2013-03-01 (Quandl WIKI Prices, public domain; see
`data/NOTICE.md` and scripts/make_sample_data.py) in the upstream's own JSON shape, so they go
through the same parser as live answers. They are read on first use, not at import.

The set of symbols is closed and known here, so a symbol it lacks is an `UnknownSymbol` that
names the ones it has: the web layer turns that into a 404 a newcomer can act on, and nothing
above this module needs to know where sample data lives. Which symbols are *admitted* in sample
mode is decided where the provider is chosen (`app.py`), not here.
"""

from __future__ import annotations

from importlib import resources

from stock_ticker.domain import PriceSeries
from stock_ticker.domain.errors import UnknownSymbol
from stock_ticker.upstream.parsing import parse_daily_body

_DATA = resources.files("stock_ticker.upstream") / "data"


def sample_symbols() -> frozenset[str]:
    """Symbols the bundled data covers."""
    return frozenset(
        entry.name.removesuffix(".json")
        for entry in _DATA.iterdir()
        if entry.name.endswith(".json")
    )


class SampleProvider:
    """Answers from the bundled files; never spends quota."""

    name = "sample"
    metered = False

    def __init__(self) -> None:
        self._symbols = sample_symbols()

    async def fetch_daily_series(self, symbol: str, *, timeout: float) -> PriceSeries:
        if symbol not in self._symbols:
            raise UnknownSymbol(f"the bundled sample data has no {symbol}", available=self._symbols)
        return parse_daily_body((_DATA / f"{symbol}.json").read_bytes(), symbol)
