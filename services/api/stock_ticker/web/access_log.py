"""One JSON access line per request, written by aiohttp after the response is sent."""

from __future__ import annotations

import logging
import time

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

from stock_ticker.observability.logging import json_line, utc_timestamp, write_line
from stock_ticker.web.state import HANDLING_SECONDS

ACCESS_LOGGER = logging.getLogger("stock_ticker.access")


class JsonAccessLogger(AbstractAccessLogger):
    """Logs method, route template, path, status, duration, request id and cache state.

    The line goes straight to the log sink rather than through a `LogRecord`: building a record,
    filtering and formatting it per request costs more than the rest of a warm request. The
    `stock_ticker.access` logger's level still decides whether lines are written at all.
    """

    def log(self, request: BaseRequest, response: StreamResponse, time_taken: float) -> None:
        if not self.logger.isEnabledFor(logging.INFO):
            return
        match_info = getattr(request, "match_info", None)
        resource = match_info.route.resource if match_info is not None else None
        path = request.path[:200]
        line = json_line(
            {
                "time": utc_timestamp(time.time()),
                "level": "INFO",
                "logger": self.logger.name,
                "message": f"{request.method} {path} {response.status}",
                "method": request.method,
                "route": resource.canonical if resource is not None else "unmatched",
                "path": path,
                "status": response.status,
                "duration_ms": round(request.get(HANDLING_SECONDS, time_taken) * 1000, 3),
                "request_id": response.headers.get("X-Request-ID"),
                "cache": response.headers.get("X-Cache"),
            }
        )
        write_line(line)
