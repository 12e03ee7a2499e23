"""An nginx config generated from rendered Ingress objects, the way ingress-nginx builds its own.

What this reproduces of the controller (internal/ingress/controller: controller.go, template.go,
nginx.tmpl), for the annotations our manifests use:
- every path of a host becomes `location ~* "^PATH"` once any Ingress of that host sets use-regex;
- a host's locations are ordered longest path first (then reverse-lexically), and nginx takes the
  first regex location that matches;
- rewrite-target becomes `rewrite "(?i)PATH" TARGET break;` (the query string is kept), and
  x-forwarded-prefix sends `X-Forwarded-Prefix` (ingress-nginx only adds it with a rewrite);
- denylist-source-range becomes `deny CIDR;` lines;
- the usual proxy headers (X-Forwarded-For/-Host/-Port/-Proto, X-Real-IP, X-Request-ID);
- a request no path matches goes to the default backend, which answers 404.
Unknown nginx.ingress.kubernetes.io annotations fail generation, so a new annotation in the
manifests has to be modelled here before the tests pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nginx_http

PREFIX = "nginx.ingress.kubernetes.io/"
MODELLED = {"use-regex", "rewrite-target", "x-forwarded-prefix", "denylist-source-range"}


@dataclass
class Location:
    path: str
    path_type: str
    service: str
    port: str | int
    rewrite_target: str = ""
    forwarded_prefix: str = ""
    deny: list[str] = field(default_factory=list)


def locations(ingresses: list[dict[str, Any]], ingress_class: str = "nginx") -> list[Location]:
    """The default server's locations (rules without a host), in the controller's order."""
    found: list[Location] = []
    use_regex = False
    for ing in ingresses:
        if ing["spec"].get("ingressClassName") != ingress_class:
            continue
        annotations = {
            k.removeprefix(PREFIX): v
            for k, v in ing["metadata"].get("annotations", {}).items()
            if k.startswith(PREFIX)
        }
        unknown = set(annotations) - MODELLED
        if unknown:
            raise ValueError(f"{ing['metadata']['name']}: annotations not modelled: {unknown}")
        use_regex |= annotations.get("use-regex") == "true"
        for rule in ing["spec"].get("rules", []):
            if rule.get("host"):
                continue
            for p in rule["http"]["paths"]:
                svc = p["backend"]["service"]
                found.append(
                    Location(
                        path=p["path"],
                        path_type=p["pathType"],
                        service=svc["name"],
                        port=svc["port"].get("name") or svc["port"]["number"],
                        rewrite_target=annotations.get("rewrite-target", ""),
                        forwarded_prefix=annotations.get("x-forwarded-prefix", ""),
                        deny=[
                            c.strip()
                            for c in annotations.get("denylist-source-range", "").split(",")
                            if c.strip()
                        ],
                    )
                )
    if not use_regex:
        raise ValueError("these tests model regex paths only: set use-regex")
    for loc in found:
        if loc.path_type != "ImplementationSpecific":
            raise ValueError(f"{loc.path}: a regex path needs pathType ImplementationSpecific")
    found.sort(key=lambda loc: loc.path, reverse=True)
    found.sort(key=lambda loc: len(loc.path), reverse=True)
    return found


def _location_block(loc: Location, upstream: str) -> str:
    lines = [f'location ~* "^{loc.path}" {{']
    lines += [f"    deny {cidr};" for cidr in loc.deny]
    lines += [
        "    proxy_http_version 1.1;",
        '    proxy_set_header Connection "";',
        "    proxy_set_header Host $host;",
        "    proxy_set_header X-Request-ID $request_id;",
        "    proxy_set_header X-Real-IP $remote_addr;",
        "    proxy_set_header X-Forwarded-For $remote_addr;",
        "    proxy_set_header X-Forwarded-Host $host;",
        "    proxy_set_header X-Forwarded-Port $server_port;",
        "    proxy_set_header X-Forwarded-Proto $scheme;",
        "    proxy_set_header X-Forwarded-Scheme $scheme;",
        "    proxy_set_header X-Scheme $scheme;",
        "    proxy_set_header X-Original-URI $request_uri;",
    ]
    if loc.rewrite_target and loc.rewrite_target != loc.path:
        lines.append(f'    rewrite "(?i){loc.path}" {loc.rewrite_target} break;')
        if loc.forwarded_prefix:
            lines.append(f'    proxy_set_header X-Forwarded-Prefix "{loc.forwarded_prefix}";')
    lines.append(f"    proxy_pass http://{upstream};")
    lines.append("}")
    return "\n".join("        " + line for line in lines)


def nginx_conf(
    prefix: Path, listen_port: int, locs: list[Location], backends: dict[tuple[str, str | int], str]
) -> str:
    """A complete nginx.conf for `nginx -p PREFIX`; `backends` maps (service, port) to host:port."""
    upstreams = []
    blocks = []
    for i, loc in enumerate(locs):
        name = f"upstream_{i}"
        upstreams.append(nginx_http.upstream(name, backends[(loc.service, loc.port)]))
        blocks.append(_location_block(loc, name))
    blocks.append(
        '        location / {\n            return 404 "default backend - 404\\n";\n        }'
    )
    return nginx_http.http_conf(prefix, listen_port, upstreams, blocks)
