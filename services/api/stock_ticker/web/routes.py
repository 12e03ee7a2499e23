"""Every route of the API, in one place."""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from stock_ticker.web import handlers


def _head_of(handler: Handler) -> Handler:
    """HEAD for a GET route, left out of the OpenAPI document (apigami would list it twice)."""

    async def head(request: web.Request) -> web.StreamResponse:
        return await handler(request)

    return head


def setup_routes(app: web.Application, *, enable_metrics: bool) -> None:
    routes: list[tuple[str, Handler]] = [
        ("/ndays", handlers.ndays),
        ("/healthz", handlers.healthz),
        ("/readyz", handlers.readyz),
    ]
    if enable_metrics:
        routes.append(("/metrics", handlers.metrics))
    for path, handler in routes:
        app.router.add_get(path, handler, allow_head=False)
        app.router.add_route("HEAD", path, _head_of(handler))
