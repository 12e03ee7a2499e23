"""The Gateway API path end to end: nginx programmed from the rendered HTTPRoute, the real app
behind; and what the gateway-api component changes in the manifests."""

from __future__ import annotations

import copy
import http.client
import subprocess
from typing import Any

import gateway_nginx
import pytest
import through_proxy
import yaml
from conftest import Nginx
from support import ROOT, find, get

Objs = list[dict[str, Any]]
Start = Any  # the gateway_for fixture's start(objs) -> Nginx


@pytest.fixture(scope="module")
def gw(gateway_for: Start, manifests_gateway: Objs) -> Nginx:
    return gateway_for(manifests_gateway)


def test_the_route_is_what_the_issue_asks_for(manifests_gateway: Objs) -> None:
    route = find(manifests_gateway, "HTTPRoute", "stock-ticker")
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    main, metrics = route["spec"]["rules"]
    assert main["matches"] == [{"path": {"type": "PathPrefix", "value": "/stock-ticker"}}]
    filters = {f["type"]: f for f in main["filters"]}
    assert filters["URLRewrite"]["urlRewrite"]["path"] == {
        "type": "ReplacePrefixMatch",
        "replacePrefixMatch": "/",
    }
    assert filters["RequestHeaderModifier"]["requestHeaderModifier"]["set"] == [
        {"name": "X-Forwarded-Prefix", "value": "/stock-ticker"}
    ]
    assert main["backendRefs"] == [{"name": "stock-ticker", "port": 80}]
    assert metrics == {
        "matches": [{"path": {"type": "PathPrefix", "value": "/stock-ticker/metrics"}}]
    }


def test_the_component_replaces_the_ingresses(manifests_gateway: Objs) -> None:
    assert not [o for o in manifests_gateway if o["kind"] == "Ingress"]


def test_the_route_attaches_to_the_gateway_and_reaches_the_pods(
    manifests_gateway: Objs, gateway: dict[str, Any]
) -> None:
    route = find(manifests_gateway, "HTTPRoute", "stock-ticker")
    assert gateway_nginx.admits(gateway, route)
    other = copy.deepcopy(route)
    other["metadata"]["namespace"] = "elsewhere"
    assert not gateway_nginx.admits(gateway, other), "the listener admits our namespace only"
    assert gateway["spec"]["gatewayClassName"] == "nginx"  # NGINX Gateway Fabric's class


def test_the_network_policy_admits_the_gateway_pods_named_by_the_parent_ref(
    manifests_gateway: Objs,
) -> None:
    (parent,) = find(manifests_gateway, "HTTPRoute", "stock-ticker")["spec"]["parentRefs"]
    (rule,) = find(manifests_gateway, "NetworkPolicy", "stock-ticker")["spec"]["ingress"]
    sources = [
        (
            p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
            p["podSelector"]["matchLabels"],
        )
        for p in rule["from"]
    ]
    assert sources == [
        (parent["namespace"], {"gateway.networking.k8s.io/gateway-name": parent["name"]}),
        ("monitoring", {"app.kubernetes.io/name": "prometheus"}),
    ], "the ingress-nginx controller is no longer let in"


def test_generated_config_follows_the_route(gw: Nginx) -> None:
    conf = (gw.prefix / "conf" / "nginx.conf").read_text()
    assert "location = /stock-ticker {" in conf
    assert "location ^~ /stock-ticker/ {" in conf
    assert 'rewrite "^/stock\\-ticker/(.*)$" "/$1" break;' in conf
    assert 'proxy_set_header X-Forwarded-Prefix "/stock-ticker";' in conf
    assert "location ^~ /stock-ticker/metrics/ {\n            return 500;" in conf


def test_ndays_through_the_gateway_keeps_the_query_string(gw: Nginx) -> None:
    through_proxy.ndays_through_the_prefix(gw)


@pytest.mark.parametrize(
    ("path", "sent"),
    [("/stock-ticker/healthz", "/healthz"), ("/stock-ticker", "/"), ("/stock-ticker/", "/")],
)
def test_the_prefix_is_replaced_by_a_slash(gw: Nginx, path: str, sent: str) -> None:
    """What conformance expects of ReplacePrefixMatch: /prefix/x -> /x and /prefix -> /."""
    conn = http.client.HTTPConnection(gw.url.removeprefix("http://"), timeout=10)
    conn.request("GET", path)  # not following the app's redirect from / to its docs
    status = conn.getresponse().status
    conn.close()
    assert status < 400, f"{path}: {status}"
    assert gw.log_for(path).endswith(f" sent_to_app={sent}")


def test_openapi_document_names_the_prefix_as_its_server(gw: Nginx) -> None:
    through_proxy.openapi_names_the_prefix(gw)


def test_docs_page_and_every_asset_it_loads_answer_through_the_gateway(gw: Nginx) -> None:
    through_proxy.docs_page_and_its_assets(gw)


@pytest.mark.parametrize(
    "path", ["/stock-tickerfoo", "/stock-tickerfoo/ndays", "/ndays", "/", "/Stock-Ticker/healthz"]
)
def test_paths_outside_the_prefix_do_not_reach_the_app(gw: Nginx, path: str) -> None:
    """PathPrefix matches whole segments, case-sensitively, as the Gateway API says."""
    resp = get(f"{gw.url}{path}")
    assert resp.status == 404, f"{path}: {resp.status}"
    assert "upstream=-" in gw.log_for(path)


def test_metrics_are_not_routed(gw: Nginx, app_url: str) -> None:
    paths = (*through_proxy.METRICS_SPELLINGS, "/stock-ticker/metrics/")
    through_proxy.metrics_do_not_reach_the_app(gw, app_url, paths, 500)  # a rule, no backend
    # A longer segment is not /metrics: it reaches the app, which does not know it.
    assert get(f"{gw.url}/stock-ticker/metricsfoo").status == 404


def test_metrics_are_routed_with_the_public_metrics_component(
    gateway_for: Start, manifests_gateway_public_metrics: Objs
) -> None:
    through_proxy.metrics_reach_the_app(gateway_for(manifests_gateway_public_metrics))


def test_the_components_in_the_wrong_order_keep_metrics_private() -> None:
    from support import objects, render

    docs = objects(render("public-metrics", "gateway-api"))
    rules = find(docs, "HTTPRoute", "stock-ticker")["spec"]["rules"]
    assert [r["matches"][0]["path"]["value"] for r in rules][-1] == "/stock-ticker/metrics"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (lambda r: r["spec"]["rules"][0].update(timeouts={"request": "5s"}), "not modelled"),
        (
            lambda r: r["spec"]["rules"][0]["matches"].append(
                {"path": {"type": "PathPrefix", "value": "/other"}}
            ),
            "ReplacePrefixMatch needs one PathPrefix match",
        ),
        (
            lambda r: r["spec"]["rules"][0]["filters"].append(r["spec"]["rules"][0]["filters"][0]),
            "once",
        ),
        (lambda r: r["spec"]["rules"][1].update(matchs=[]), "not modelled"),
    ],
)
def test_what_is_not_modelled_fails_generation(
    manifests_gateway: Objs, change: Any, error: str
) -> None:
    """A misspelt or new field cannot pass untested; nor can a rule the CRD's CEL would refuse."""
    route = copy.deepcopy(find(manifests_gateway, "HTTPRoute", "stock-ticker"))
    change(route)
    with pytest.raises(ValueError, match=error):
        gateway_nginx.rules([route])


def test_make_manifests_with_gateway_renders_the_route_instead_of_the_ingress() -> None:
    out = subprocess.run(
        ["make", "--no-print-directory", "-s", "manifests", "GATEWAY=1", "PUBLIC_METRICS=1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    docs = [d for d in yaml.safe_load_all(out) if d]
    assert not [d for d in docs if d["kind"] == "Ingress"]
    route = find(docs, "HTTPRoute", "stock-ticker")
    assert len(route["spec"]["rules"]) == 1, "public metrics: the metrics rule is gone"


@pytest.mark.parametrize("path", ["/stock-ticker", "/stock-ticker/"])
def test_the_prefix_itself_leads_to_the_docs_page(gw: Nginx, path: str) -> None:
    through_proxy.the_prefix_leads_to_the_docs_page(gw, path)
