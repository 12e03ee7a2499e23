"""One JSON access line per request, written by aiohttp after the response is sent."""

from __future__ import annotations

import logging

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

from stock_ticker.web.middlewares import REQUEST_ID_HEADER


class JsonAccessLogger(AbstractAccessLogger):
    """Logs method, route template, status, duration, request id and cache state.

    The route template, not the raw path, goes in the line (the raw query can be anything a
    client typed); the path is logged too, cut to a bounded length.
    """

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        match_info = getattr(request, "match_info", None)
        resource = match_info.route.resource if match_info is not None else None
        self.logger.info(
            "%s %s %s",
            request.method,
            request.path[:200],
            response.status,
            extra={
                "method": request.method,
                "route": resource.canonical if resource is not None else "unmatched",
                "path": request.path[:200],
                "status": response.status,
                "duration_ms": round(time * 1000, 3),
                "request_id": response.headers.get(REQUEST_ID_HEADER),
                "cache": response.headers.get("X-Cache"),
            },
        )


ACCESS_LOGGER = logging.getLogger("stock_ticker.access")
