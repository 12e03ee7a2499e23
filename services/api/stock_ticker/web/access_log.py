"""One JSON access line per request: method, route template, path, status, duration, request id
and cache state.

The envelope middleware writes it, since it already holds every field; aiohttp's own access
logger is off. A line goes straight to the log sink rather than through a `LogRecord`: building,
filtering and formatting a record per request cost more than the rest of a warm request
(docs/benchmarks.md). The `stock_ticker.access` logger's level still decides whether lines are
written. Requests that aiohttp's HTTP parser rejects never reach the app and are not logged.
"""

from __future__ import annotations

import logging
import time

from aiohttp import web

from stock_ticker.observability.logging import json_line, utc_timestamp, write_line

ACCESS_LOGGER = logging.getLogger("stock_ticker.access")


def log_access(
    request: web.Request,
    status: int,
    cache: str | None,
    route: str,
    request_id: str,
    seconds: float,
) -> None:
    if not ACCESS_LOGGER.isEnabledFor(logging.INFO):
        return
    path = request.path[:200]
    write_line(
        json_line(
            {
                "time": utc_timestamp(time.time()),
                "level": "INFO",
                "logger": ACCESS_LOGGER.name,
                "message": f"{request.method} {path} {status}",
                "method": request.method,
                "route": route,
                "path": path,
                "status": status,
                "duration_ms": round(seconds * 1000, 3),
                "request_id": request_id,
                "cache": cache,
            }
        )
    )
