"""Issue 9, point 8, through the real process: a file missing under the docs' static routes is a
404 problem, logged and counted as a 404 (it used to be an empty octet-stream 404 logged and
counted as 200), while a file that exists is still served, counted as 200."""

from __future__ import annotations

import aiohttp
import pytest

from tests.support.fixtures import ServiceFactory
from tests.support.scrape import scrape, wait_for_log

pytestmark = pytest.mark.e2e

MISSES = {
    "/static/docs/nonexist.js": "/static/docs/{name}",
    "/static/swagger/nonexist.js": "/static/swagger/{name}",
    "/static/docs/..%2Fdocs.py": "/static/docs/{name}",  # no way out of the directory either
}


async def test_static_misses_are_404_problems_logged_and_counted_as_404(
    start_service: ServiceFactory,
) -> None:
    service = await start_service({"ENABLE_METRICS": "true"})
    async with aiohttp.ClientSession() as session:
        for path in MISSES:
            async with session.get(service.url + path) as response:
                body = await response.json(content_type=None)
                assert response.status == 404, path
                assert response.content_type == "application/problem+json", path
                assert body["status"] == 404
                assert body["type"] == "about:blank"
                assert body["instance"] == response.url.path
                assert body["request_id"] == response.headers["X-Request-ID"]
        async with session.get(f"{service.url}/static/docs/docs.js") as found:
            assert found.status == 200
            assert len(await found.read()) > 0
        metrics = await scrape(session, service.url)

    requests = "http_requests_total"
    assert metrics.value(requests, route="/static/docs/{name}", status="404") == 2
    assert metrics.value(requests, route="/static/swagger/{name}", status="404") == 1
    assert metrics.value(requests, route="/static/docs/{name}", status="200") == 1
    assert metrics.value(requests, route="/static/swagger/{name}", status="200") == 0

    access = await wait_for_log(
        service.log_path,
        lambda e: e["logger"] == "stock_ticker.access" and e["path"].startswith("/static/"),
        "the static requests' access lines",
        at_least=len(MISSES) + 1,
    )
    lines = {(e["path"], e["route"], e["status"]) for e in access}
    assert lines == {
        ("/static/docs/nonexist.js", "/static/docs/{name}", 404),
        ("/static/swagger/nonexist.js", "/static/swagger/{name}", 404),
        ("/static/docs/../docs.py", "/static/docs/{name}", 404),
        ("/static/docs/docs.js", "/static/docs/{name}", 200),
    }
