"""An nginx config generated from rendered HTTPRoute objects, as a Gateway API implementation
built on nginx (NGINX Gateway Fabric) serves them.

What this reproduces of the Gateway API (v1, HTTPRoute), for the fields our manifests use:
- a route serves a Gateway only if a parentRef names it and a listener's allowedRoutes admits
  the route's namespace;
- `PathPrefix P` matches whole path segments: `location = P` and `location ^~ P/`; `Exact P` is
  `location = P`. nginx takes the longest prefix location and an exact one first, which is the
  Gateway API's precedence for path matches (Exact, then the longest prefix);
- `URLRewrite` with `ReplacePrefixMatch R` (P/x -> R/x, P -> R; the query string is kept), with
  the API's own rule that such a rule has exactly one PathPrefix match;
- `RequestHeaderModifier` `set` (replaces the header);
- a rule with no backendRefs is answered 500 by the gateway (conformance: HTTPRouteNoBackendRefs);
- a request no rule matches is answered 404.
A field or filter not modelled here fails generation, so a manifest change cannot silently pass
untested; the Gateway API's own schema is checked separately (test_static.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nginx_http

RULE_FIELDS = {"matches", "filters", "backendRefs"}
MATCH_FIELDS = {"path"}
FILTER_FIELDS = {
    "URLRewrite": {"type", "urlRewrite"},
    "RequestHeaderModifier": {"type", "requestHeaderModifier"},
}
BACKEND_FIELDS = {"name", "port"}


@dataclass
class Rule:
    path_type: str
    path: str
    backend: tuple[str, int] | None
    replace_prefix: str | None = None
    set_headers: dict[str, str] = field(default_factory=dict)


def _only(obj: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(obj) - allowed
    if unknown:
        raise ValueError(f"{where}: fields not modelled: {sorted(unknown)}")


def admits(gateway: dict[str, Any], route: dict[str, Any]) -> bool:
    """Whether `route` attaches to `gateway`: a parentRef names it and a listener admits it."""
    namespace = route["metadata"]["namespace"]
    gw_name, gw_namespace = gateway["metadata"]["name"], gateway["metadata"]["namespace"]
    named = any(
        ref["name"] == gw_name and ref.get("namespace", namespace) == gw_namespace
        for ref in route["spec"]["parentRefs"]
    )
    for listener in gateway["spec"]["listeners"]:
        if listener["protocol"] != "HTTP":
            continue
        allowed = listener.get("allowedRoutes", {}).get("namespaces", {"from": "Same"})
        if allowed["from"] == "All":
            return named
        if allowed["from"] == "Same" and namespace == gw_namespace:
            return named
        if allowed["from"] == "Selector":
            labels = allowed["selector"]
            _only(labels, {"matchLabels"}, "allowedRoutes selector")
            if labels["matchLabels"] == {"kubernetes.io/metadata.name": namespace}:
                return named
    return False


def rules(routes: list[dict[str, Any]]) -> list[Rule]:
    """Every match of every rule, checked against what is modelled."""
    found: list[Rule] = []
    for route in routes:
        name = route["metadata"]["name"]
        _only(route["spec"], {"parentRefs", "rules"}, f"HTTPRoute {name}")
        for i, rule in enumerate(route["spec"]["rules"]):
            where = f"HTTPRoute {name} rule {i}"
            _only(rule, RULE_FIELDS, where)
            matches = rule.get("matches") or [{"path": {"type": "PathPrefix", "value": "/"}}]
            filters = rule.get("filters", [])
            types = [f["type"] for f in filters]
            if len(types) != len(set(types)):
                raise ValueError(f"{where}: a filter type may appear once per rule")
            replace_prefix, headers = None, {}
            for f in filters:
                if f["type"] not in FILTER_FIELDS:
                    raise ValueError(f"{where}: filter {f['type']} not modelled")
                _only(f, FILTER_FIELDS[f["type"]], where)
                if f["type"] == "URLRewrite":
                    _only(f["urlRewrite"], {"path"}, where)
                    path = f["urlRewrite"]["path"]
                    if path["type"] != "ReplacePrefixMatch":
                        raise ValueError(f"{where}: path rewrite {path['type']} not modelled")
                    # The CRD's CEL rule, which schema validation alone does not check.
                    if len(matches) != 1 or matches[0]["path"]["type"] != "PathPrefix":
                        raise ValueError(f"{where}: ReplacePrefixMatch needs one PathPrefix match")
                    replace_prefix = path["replacePrefixMatch"]
                else:
                    modifier = f["requestHeaderModifier"]
                    _only(modifier, {"set"}, where)
                    headers = {h["name"]: h["value"] for h in modifier["set"]}
            backends = rule.get("backendRefs", [])
            for b in backends:
                _only(b, BACKEND_FIELDS, where)
            if len(backends) > 1:
                raise ValueError(f"{where}: several backends (weights) not modelled")
            backend = (backends[0]["name"], int(backends[0]["port"])) if backends else None
            for match in matches:
                _only(match, MATCH_FIELDS, where)
                path = match["path"]
                _only(path, {"type", "value"}, where)
                if path["type"] not in ("PathPrefix", "Exact"):
                    raise ValueError(f"{where}: path match {path['type']} not modelled")
                if path["value"] != "/" and path["value"].endswith("/"):
                    raise ValueError(f"{where}: a trailing slash is not modelled")
                found.append(Rule(path["type"], path["value"], backend, replace_prefix, headers))
    return found


def _block(rule: Rule, upstream: str | None, exact: bool) -> list[str]:
    lines = []
    if upstream is None:
        return ["return 500;"]
    if rule.replace_prefix is not None:
        target = rule.replace_prefix
        if exact:
            lines.append(f'rewrite "^{re.escape(rule.path)}$" "{target}" break;')
        else:
            lines.append(
                f'rewrite "^{re.escape(rule.path)}/(.*)$" "{target.rstrip("/")}/$1" break;'
            )
    lines += [
        "proxy_http_version 1.1;",
        'proxy_set_header Connection "";',
        "proxy_set_header Host $host;",
        "proxy_set_header X-Real-IP $remote_addr;",
        "proxy_set_header X-Forwarded-For $remote_addr;",
        "proxy_set_header X-Forwarded-Host $host;",
        "proxy_set_header X-Forwarded-Port $server_port;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
    ]
    lines += [f'proxy_set_header {name} "{value}";' for name, value in rule.set_headers.items()]
    lines.append(f"proxy_pass http://{upstream};")
    return lines


def nginx_conf(
    prefix: Path, listen_port: int, found: list[Rule], backends: dict[tuple[str, int], str]
) -> str:
    """A complete nginx.conf for `nginx -p PREFIX`; `backends` maps (service, port) to host:port."""
    upstreams: dict[tuple[str, int], str] = {}
    locations: dict[str, list[str]] = {}
    # Exact matches first: they take `location = P` over a PathPrefix P's own exact location.
    for rule in sorted(found, key=lambda r: r.path_type != "Exact"):
        upstream = None
        if rule.backend is not None:
            upstream = upstreams.setdefault(rule.backend, f"upstream_{len(upstreams)}")
        heads = [(f"= {rule.path}", True)]
        if rule.path_type == "PathPrefix":
            heads = [(f"^~ {rule.path.rstrip('/')}/", False)]
            if rule.path != "/":
                heads.insert(0, (f"= {rule.path}", True))
        for head, exact in heads:
            if head in locations:
                if rule.path_type == "Exact":
                    raise ValueError(f"two rules match {head}")
                continue  # a more specific (Exact) match already holds this location
            locations[head] = _block(rule, upstream, exact)
    blocks = [
        f"        location {head} {{\n"
        + "".join(f"            {line}\n" for line in lines)
        + "        }"
        for head, lines in locations.items()
    ]
    if "^~ /" not in locations:
        blocks.append('        location / {\n            return 404 "no route\\n";\n        }')
    pools = [nginx_http.upstream(name, backends[key]) for key, name in upstreams.items()]
    return nginx_http.http_conf(prefix, listen_port, pools, blocks)
