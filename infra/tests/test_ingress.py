"""The ingress path end to end: nginx configured from the rendered Ingress, the real app behind."""

from __future__ import annotations

import json
import re
from typing import Any

import ingress_nginx
import pytest
import through_proxy
from conftest import Nginx
from support import get

Objs = list[dict[str, Any]]


def test_generated_config_follows_the_manifest(manifests: Objs, nginx: Nginx) -> None:
    conf = (nginx.prefix / "conf" / "nginx.conf").read_text()
    assert 'location ~* "^/stock-ticker(/|$)(.*)"' in conf
    assert 'rewrite "(?i)/stock-ticker(/|$)(.*)" /$2 break;' in conf
    assert 'proxy_set_header X-Forwarded-Prefix "/stock-ticker";' in conf
    # The deny location comes first, as ingress-nginx orders them.
    assert conf.index("/stock-ticker/metrics") < conf.index('"^/stock-ticker(/|$)(.*)"')
    locs = ingress_nginx.locations([o for o in manifests if o["kind"] == "Ingress"])
    assert [loc.path for loc in locs] == [
        "/stock-ticker/metrics(/|$)(.*)",
        "/stock-ticker(/|$)(.*)",
    ]


def test_ndays_through_the_prefix_keeps_the_query_string(nginx: Nginx) -> None:
    body = through_proxy.ndays_through_the_prefix(nginx)
    assert body["source"] == "sample"


def test_healthz_through_the_prefix(nginx: Nginx) -> None:
    resp = get(f"{nginx.url}/stock-ticker/healthz")
    assert resp.status == 200
    assert json.loads(resp.body) == {"status": "ok"}
    assert "sent_to_app=/healthz" in nginx.log_for("/stock-ticker/healthz")


def test_readyz_through_the_prefix(nginx: Nginx) -> None:
    assert get(f"{nginx.url}/stock-ticker/readyz").status == 200


def test_openapi_document_names_the_prefix_as_its_server(nginx: Nginx) -> None:
    doc = through_proxy.openapi_names_the_prefix(nginx)
    assert "/ndays" in doc["paths"]


def test_the_app_without_the_proxy_serves_from_the_root(app_url: str) -> None:
    doc = json.loads(get(f"{app_url}/openapi.json").body)
    assert doc["servers"] == [{"url": "/"}]


def test_docs_page_and_every_asset_it_loads_answer_through_the_prefix(nginx: Nginx) -> None:
    resp = through_proxy.docs_page_and_its_assets(nginx)
    assert resp.headers["Content-Type"].startswith("text/html")
    docs_js = get(f"{nginx.url}/stock-ticker/static/docs/docs.js").text
    assert re.search(r"""new URL\("openapi\.json", document\.baseURI\)""", docs_js)


def test_a_lookalike_prefix_does_not_reach_the_app(nginx: Nginx) -> None:
    resp = get(f"{nginx.url}/stock-tickerfoo")
    assert resp.status == 404
    assert "default backend" in resp.text
    assert "upstream=-" in nginx.log_for("/stock-tickerfoo")
    resp = get(f"{nginx.url}/stock-tickerfoo/ndays")
    assert resp.status == 404
    assert "upstream=-" in nginx.log_for("/stock-tickerfoo/ndays")


def test_paths_outside_the_prefix_do_not_reach_the_app(nginx: Nginx) -> None:
    for path in ("/ndays", "/", "/healthz"):
        resp = get(f"{nginx.url}{path}")
        assert resp.status == 404, path
        assert "upstream=-" in nginx.log_for(path)


def test_the_prefix_matches_case_insensitively_as_ingress_nginx_does(nginx: Nginx) -> None:
    assert get(f"{nginx.url}/Stock-Ticker/healthz").status == 200


def test_metrics_are_not_public(nginx: Nginx, app_url: str) -> None:
    paths = (*through_proxy.METRICS_SPELLINGS, "/STOCK-TICKER/metrics")
    through_proxy.metrics_do_not_reach_the_app(nginx, app_url, paths, 403)


def test_metrics_are_public_with_the_component(
    nginx_for: Any, manifests_public_metrics: Objs
) -> None:
    through_proxy.metrics_reach_the_app(nginx_for(manifests_public_metrics))


@pytest.mark.parametrize("path", ["/stock-ticker", "/stock-ticker/"])
def test_the_prefix_itself_leads_to_the_docs_page(nginx: Nginx, path: str) -> None:
    through_proxy.the_prefix_leads_to_the_docs_page(nginx, path)
