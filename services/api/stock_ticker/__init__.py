"""stock-ticker: daily prices for a stock and their average close over the last N days."""

__version__ = "1.0.0"
