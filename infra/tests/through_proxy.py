"""What the ingress path (test_ingress.py) and the Gateway API path (test_gateway.py) must both
do for a client of the app behind `/stock-ticker`: checks on a running proxy, each asserting what
both paths promise; each test file adds what is its own (statuses, case, what is logged)."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any, Protocol
from urllib.parse import urljoin

from support import Response, get

#: Ways of writing /stock-ticker/metrics that must not reach the app's /metrics on either path.
METRICS_SPELLINGS = (
    "/stock-ticker/metrics",
    "/stock-ticker//metrics",
    "/stock-ticker/%6Detrics",
    "/stock-ticker/./metrics",
    "/stock-ticker/metrics?x=1",
)


class Proxy(Protocol):
    """A running proxy (conftest.Nginx): its URL and its access log."""

    url: str

    def log_for(self, request_uri: str) -> str: ...


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        url = a.get("src") if tag == "script" else a.get("href") if tag == "link" else None
        if url:
            self.urls.append(url)


def docs_page_and_its_assets(proxy: Proxy) -> Response:
    """The docs page answers, and every script and stylesheet it loads answers within the prefix."""
    page_url = f"{proxy.url}/stock-ticker/docs"
    resp = get(page_url)
    assert resp.status == 200
    parser = _Assets()
    parser.feed(resp.text)
    assert len(parser.urls) >= 4, parser.urls
    for url in parser.urls:
        absolute = urljoin(page_url, url)
        assert absolute.startswith(f"{proxy.url}/stock-ticker/"), f"{url} escapes the prefix"
        asset = get(absolute)
        assert asset.status == 200, f"{absolute}: {asset.status}"
    return resp


def ndays_through_the_prefix(proxy: Proxy) -> dict[str, Any]:
    """/ndays with a query string reaches the app as /ndays, the query string kept."""
    resp = get(f"{proxy.url}/stock-ticker/ndays?symbol=aapl&ndays=3")
    assert resp.status == 200, resp.text
    body: dict[str, Any] = json.loads(resp.body)
    assert (body["symbol"], body["ndays"], len(body["daily_data"])) == ("AAPL", 3, 3)
    assert "sent_to_app=/ndays" in proxy.log_for("/stock-ticker/ndays?symbol=aapl&ndays=3")
    return body


def openapi_names_the_prefix(proxy: Proxy) -> dict[str, Any]:
    resp = get(f"{proxy.url}/stock-ticker/openapi.json")
    assert resp.status == 200
    doc: dict[str, Any] = json.loads(resp.body)
    assert doc["servers"] == [{"url": "/stock-ticker"}]
    return doc


def the_prefix_leads_to_the_docs_page(proxy: Proxy, path: str) -> None:
    resp = get(f"{proxy.url}{path}")  # the app redirects to the prefix's docs; urllib follows
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/html")
    assert "swagger" in resp.text.lower()


def metrics_do_not_reach_the_app(
    proxy: Proxy, app_url: str, paths: tuple[str, ...], status: int
) -> None:
    """The app serves /metrics, but each of `paths` is answered `status` by the proxy itself."""
    assert get(f"{app_url}/metrics").status == 200, "the app serves /metrics (for Prometheus)"
    for path in paths:
        resp = get(f"{proxy.url}{path}")
        assert resp.status == status, f"{path}: {resp.status}"
        assert "# TYPE" not in resp.text, f"{path} leaked metrics"
        assert "upstream=-" in proxy.log_for(path)


def metrics_reach_the_app(proxy: Proxy) -> None:
    """With the public-metrics component, /stock-ticker/metrics is the app's /metrics."""
    resp = get(f"{proxy.url}/stock-ticker/metrics")
    assert resp.status == 200
    assert "# TYPE" in resp.text
    assert "sent_to_app=/metrics" in proxy.log_for("/stock-ticker/metrics")
