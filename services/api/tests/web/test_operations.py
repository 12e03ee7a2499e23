"""Health, readiness, metrics, docs, request ids, error envelopes and transport limits."""

from __future__ import annotations

import re

import pytest

from stock_ticker.config import Settings
from stock_ticker.domain import PriceSeries
from stock_ticker.web import problems
from stock_ticker.web.docs import OPENAPI
from stock_ticker.web.state import LIFECYCLE
from tests.conftest import ClientFactory, live_settings
from tests.resilience.faults import FAULTS
from tests.support.fake_upstream import FakeAlphaVantage

PROBLEM_URN = "urn:stock-ticker:problem:"

Upstream = tuple[FakeAlphaVantage, str]


async def test_healthz_and_readyz(make_client: ClientFactory) -> None:
    client = await make_client(Settings())
    health = await client.get("/healthz")
    assert health.status == 200
    assert await health.json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert await ready.json() == {"status": "ready"}
    client.app[LIFECYCLE].draining = True
    draining = await client.get("/readyz")
    assert draining.status == 503
    assert draining.content_type == "application/problem+json"
    assert (await client.get("/healthz")).status == 200  # liveness is not readiness


async def test_health_never_calls_upstream(
    make_client: ClientFactory, fake_upstream: Upstream
) -> None:
    fake, host = fake_upstream
    client = await make_client(live_settings(host))
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"):
        assert (await client.get(path)).status == 200
    assert fake.total_calls == 0  # and none at start-up either


async def test_request_id_is_echoed_or_generated_on_every_response(
    make_client: ClientFactory,
) -> None:
    client = await make_client(Settings())
    echoed = await client.get("/healthz", headers={"X-Request-ID": "abc-123.x:y"})
    assert echoed.headers["X-Request-ID"] == "abc-123.x:y"
    generated = await client.get("/nope")
    assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["X-Request-ID"])
    unsafe = await client.get("/healthz", headers={"X-Request-ID": "a b\tc" + "x" * 200})
    assert re.fullmatch(r"[0-9a-f]{32}", unsafe.headers["X-Request-ID"])


async def test_security_headers_everywhere_and_a_docs_friendly_csp(
    make_client: ClientFactory,
) -> None:
    client = await make_client(Settings())
    for path in ("/ndays", "/nope", "/docs"):
        response = await client.get(path)
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Server"] == "stock-ticker"
        csp = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp
    api_csp = (await client.get("/ndays")).headers["Content-Security-Policy"]
    assert api_csp.startswith("default-src 'none'")
    docs_csp = (await client.get("/docs")).headers["Content-Security-Policy"]
    assert "script-src 'self'" in docs_csp
    assert "unsafe-eval" not in docs_csp


async def test_unknown_route_and_method_are_problems(make_client: ClientFactory) -> None:
    client = await make_client(Settings())
    missing = await client.get("/nope")
    assert missing.status == 404
    assert missing.content_type == "application/problem+json"
    assert (await missing.json())["instance"] == "/nope"
    for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
        response = await client.request(method, "/ndays")
        assert response.status == 405, method
        assert response.headers["Allow"] == "GET, HEAD"
        assert response.content_type == "application/problem+json"
    for method in ("POST", "DELETE"):  # an unknown route is a 404 whatever the method
        unrouted = await client.request(method, "/nope")
        assert unrouted.status == 404, method
        assert unrouted.content_type == "application/problem+json"
    # HEAD is a GET without the body.
    head = await client.head("/ndays")
    assert head.status == 200
    assert head.headers["X-Cache"] in {"HIT", "MISS"}
    assert await head.read() == b""


@pytest.mark.parametrize("path", ["/docs", "/openapi.json", "/healthz", "/static/docs/docs.js"])
async def test_every_route_answers_head_like_get_without_a_body(
    make_client: ClientFactory, path: str
) -> None:
    client = await make_client(Settings())
    get = await client.get(path)
    head = await client.head(path)
    assert (head.status, get.status) == (200, 200)
    assert head.headers["Content-Type"] == get.headers["Content-Type"]
    assert await head.read() == b""


async def test_the_root_redirects_to_the_docs_relatively(make_client: ClientFactory) -> None:
    client = await make_client(Settings())
    response = await client.get("/", allow_redirects=False)
    assert response.status == 302
    assert response.headers["Location"] == "docs"  # resolves under any proxy prefix
    followed = await client.get("/")
    assert followed.status == 200
    assert followed.content_type == "text/html"
    # Behind the ingress both /stock-ticker and /stock-ticker/ arrive as /: the prefix decides.
    proxied = await client.get(
        "/", allow_redirects=False, headers={"X-Forwarded-Prefix": "/stock-ticker"}
    )
    assert proxied.headers["Location"] == "/stock-ticker/docs"


async def test_over_long_target_and_headers_are_problems(make_client: ClientFactory) -> None:
    client = await make_client(Settings())
    long_url = await client.get("/ndays?symbol=" + "A" * 2100)
    assert long_url.status == 414
    assert long_url.content_type == "application/problem+json"
    big = {f"X-Filler-{i}": "v" * 1000 for i in range(9)}
    large_headers = await client.get("/healthz", headers=big)
    assert large_headers.status == 431
    assert large_headers.content_type == "application/problem+json"


async def test_unexpected_errors_are_500_problems_without_a_traceback(
    make_client: ClientFactory,
) -> None:
    class Broken:
        name = "broken"
        metered = False

        async def fetch_daily_series(self, symbol: str, *, timeout: float) -> PriceSeries:
            raise RuntimeError("secret internals")

    client = await make_client(Settings(), provider=Broken())
    response = await client.get("/ndays")
    assert response.status == 500
    text = await response.text()
    assert "secret internals" not in text
    assert "Traceback" not in text
    assert (await response.json())["title"] == "Internal Server Error"


async def test_metrics_disabled_is_404(make_client: ClientFactory) -> None:
    client = await make_client(Settings(enable_metrics=False))
    assert (await client.get("/metrics")).status == 404


async def test_metrics_expose_http_cache_and_upstream_series(
    make_client: ClientFactory, fake_upstream: Upstream
) -> None:
    _, host = fake_upstream
    client = await make_client(live_settings(host, upstream_daily_budget=25))
    await client.get("/ndays")
    await client.get("/ndays?ndays=3")
    await client.get("/this/is/a/raw/path")
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    text = await response.text()
    assert "stock_api_cache_hit_total 1.0" in text
    assert "stock_api_cache_miss_total 1.0" in text
    assert 'stock_api_upstream_requests_total{outcome="success"} 1.0' in text
    assert "stock_api_upstream_request_duration_seconds_count 1.0" in text
    assert "stock_api_upstream_budget_remaining_calls 24.0" in text
    assert 'http_requests_total{method="GET",route="/ndays",status="200"} 2.0' in text
    assert 'http_requests_total{method="GET",route="unmatched",status="404"} 1.0' in text
    assert 'http_request_duration_seconds_bucket{le="0.001",method="GET",route="/ndays"}' in text
    assert "http_requests_in_progress" in text
    assert "process_resident_memory_bytes" in text
    assert "/this/is/a/raw/path" not in text  # no label carries a raw path


async def test_openapi_document_describes_ndays_and_problems(make_client: ClientFactory) -> None:
    client = await make_client(Settings())
    spec = await (await client.get("/openapi.json")).json()
    assert spec["openapi"] == "3.0.3"
    assert spec["servers"] == [{"url": "/"}]
    operation = spec["paths"]["/ndays"]["get"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert params["ndays"]["schema"]["minimum"] == 1
    assert params["ndays"]["schema"]["maximum"] == 100
    assert params["symbol"]["schema"]["pattern"] == "^[A-Za-z0-9.-]{1,10}$"
    responses = operation["responses"]
    assert set(responses) == {"200", "304", "400", "403", "404", "502", "503", "504"}
    assert "application/json" in responses["200"]["content"]
    assert set(responses["200"]["headers"]) >= {"X-Cache", "Cache-Control", "X-Request-ID"}
    for status in ("400", "403", "404", "502", "503", "504"):
        assert list(responses[status]["content"]) == ["application/problem+json"]
    assert "Retry-After" in responses["503"]["headers"]
    assert "head" not in spec["paths"]["/ndays"]
    assert set(spec["components"]["schemas"]) >= {"NdaysResponse", "Problem", "DailyBar"}


@pytest.mark.parametrize(
    ("header", "server"),
    [("/stock-ticker", "/stock-ticker"), ("/stock-ticker/", "/stock-ticker"), ("x<y", "/")],
)
async def test_openapi_servers_follow_the_forwarded_prefix(
    make_client: ClientFactory, header: str, server: str
) -> None:
    client = await make_client(Settings())
    response = await client.get("/openapi.json", headers={"X-Forwarded-Prefix": header})
    assert (await response.json())["servers"] == [{"url": server}]


async def test_docs_page_and_its_assets_load_with_relative_urls(
    make_client: ClientFactory,
) -> None:
    client = await make_client(Settings())
    page = await client.get("/docs")
    assert page.content_type == "text/html"
    html = await page.text()
    assets = re.findall(r'(?:href|src)="([^"]+)"', html)
    assert assets
    assert all(not a.startswith(("/", "http")) for a in assets)
    for asset in assets:
        assert (await client.get(f"/{asset}")).status == 200, asset
    script = await (await client.get("/static/docs/docs.js")).text()
    assert 'new URL("openapi.json", document.baseURI)' in script


async def test_openapi_renderings_per_prefix_stay_bounded(make_client: ClientFactory) -> None:
    client = await make_client(Settings())
    for i in range(40):
        headers = {"X-Forwarded-Prefix": f"/p{i}"}
        spec = await (await client.get("/openapi.json", headers=headers)).json()
        assert spec["servers"] == [{"url": f"/p{i}"}]
    docs = client.app[OPENAPI]
    assert len(docs._rendered) <= docs.MAX_PREFIXES
    first = await (await client.get("/openapi.json")).read()
    assert first == await (await client.get("/openapi.json")).read()  # rendered once, reused
    assert docs.for_prefix("") is docs.for_prefix("")


@pytest.mark.parametrize(
    ("path", "route"),
    [
        ("/static/docs/nonexist.js", "/static/docs/{name}"),
        ("/static/swagger/index.css.map", "/static/swagger/{name}"),
        ("/static/docs/sub/docs.js", "unmatched"),  # files directly in the folder only
    ],
)
async def test_a_static_miss_is_a_404_problem_counted_as_404(
    make_client: ClientFactory, path: str, route: str
) -> None:
    client = await make_client(Settings(enable_metrics=True))
    missing = await client.get(path)
    assert missing.status == 404
    assert missing.content_type == "application/problem+json"
    assert (await missing.json())["status"] == 404
    assert (await client.head("/static/swagger/swagger-ui.css")).status == 200
    text = await (await client.get("/metrics")).text()
    assert f'http_requests_total{{method="GET",route="{route}",status="404"}} 1.0' in text
    assert f'http_requests_total{{method="GET",route="{route}",status="200"}}' not in text


async def test_openapi_gives_each_problem_its_own_example_and_names_every_operation(
    make_client: ClientFactory,
) -> None:

    client = await make_client(Settings(enable_metrics=True))
    spec = await (await client.get("/openapi.json")).json()
    answered = {(f.status, PROBLEM_URN + f.slug, f.title) for f in FAULTS}
    answered |= {
        (p.status, p.type, p.title)
        for p in (problems.invalid_parameter({"ndays": ["x"]}), problems.symbol_not_allowed("X"))
    }
    answered.add((503, PROBLEM_URN + "draining", "Shutting down"))
    ids = set()
    for path, operations in spec["paths"].items():
        operation = operations["get"]
        ids.add(operation["operationId"])
        for status, response in operation["responses"].items():
            if int(status) < 400:
                continue
            example = response["content"]["application/problem+json"]["example"]
            assert example["status"] == int(status), (path, status)
            assert example["instance"] == path
            # each example is a problem the service really answers with that status
            assert (example["status"], example["type"], example["title"]) in answered
            assert ("Retry-After" in response["headers"]) is (
                path == "/ndays" and status in {"502", "503", "504"}
            )
    assert ids == {"get_ndays", "get_healthz", "get_readyz", "get_metrics"}
    problem = spec["components"]["schemas"]["Problem"]
    assert problem["additionalProperties"] is True  # RFC 9457 allows extension members
    item = spec["components"]["schemas"][
        problem["properties"]["invalid_params"]["items"]["$ref"].split("/")[-1]
    ]
    assert set(item["properties"]) == {"name", "reason"}
    ok = spec["paths"]["/ndays"]["get"]["responses"]["200"]
    assert {"X-Cache", "Cache-Control", "Age", "Warning"} <= set(ok["headers"])
    assert "<" not in ok["headers"]["Cache-Control"]["description"]  # Swagger UI eats <...>
    body = spec["components"]["schemas"]["NdaysResponse"]["properties"]
    assert body["ndays"]["example"] >= body["ndays"]["minimum"] == 1
