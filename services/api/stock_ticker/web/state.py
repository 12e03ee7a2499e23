"""Typed keys for what the application holds, so handlers and middlewares share no globals."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from stock_ticker.config import Settings
from stock_ticker.observability.metrics import Metrics
from stock_ticker.service import Quotes


@dataclass
class Lifecycle:
    """Set to draining on SIGTERM: readiness fails at once while requests are still served."""

    draining: bool = False


SETTINGS = web.AppKey("settings", Settings)
METRICS = web.AppKey("metrics", Metrics)
QUOTES = web.AppKey("quotes", Quotes)
LIFECYCLE = web.AppKey("lifecycle", Lifecycle)
REQUEST_ID = web.RequestKey("request_id", str)
REQUESTED_SYMBOL = web.RequestKey("symbol", str)
