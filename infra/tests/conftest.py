"""Fixtures: rendered manifests, the real service process, nginx generated from the Ingress or
the HTTPRoute."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import gateway_nginx
import ingress_nginx
import pytest
import yaml
from support import (
    ROOT,
    free_port,
    objects,
    process,
    render,
    require,
    service_target,
    wait_http,
)


@pytest.fixture(scope="session")
def manifests() -> list[dict[str, Any]]:
    return objects(render())


@pytest.fixture(scope="session")
def manifests_public_metrics() -> list[dict[str, Any]]:
    return objects(render("public-metrics"))


@pytest.fixture(scope="session")
def manifests_gateway() -> list[dict[str, Any]]:
    return objects(render("gateway-api"))


@pytest.fixture(scope="session")
def manifests_gateway_public_metrics() -> list[dict[str, Any]]:
    return objects(render("gateway-api", "public-metrics"))


@pytest.fixture(scope="session")
def manifests_monitoring() -> list[dict[str, Any]]:
    return objects(render("prometheus-operator"))


@pytest.fixture(scope="session")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real `python -m stock_ticker` on a free port, with sample data and /metrics on."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("STOCKS_API_KEY", "ENABLE_METRICS")}
    env.update(
        PORT=str(port),
        HOST="127.0.0.1",
        ENABLE_METRICS="true",
        SHUTDOWN_DRAIN_SECONDS="0",
        ALLOWED_SYMBOLS="*",
        LOG_LEVEL="INFO",
    )
    log = tmp_path_factory.mktemp("app") / "app.log"
    with process([sys.executable, "-m", "stock_ticker"], env, log) as proc:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/healthz", proc=proc)
        yield url


class Nginx:
    def __init__(self, url: str, prefix: Path) -> None:
        self.url, self.prefix = url, prefix

    def access_log(self) -> list[str]:
        return (self.prefix / "access.log").read_text().splitlines()

    def log_for(self, request_uri: str) -> str:
        """The last access-log line for a request (nginx writes it just after the response)."""
        deadline = time.monotonic() + 5
        while True:
            lines = [line for line in self.access_log() if line.split(" ")[0] == request_uri]
            if lines:
                return lines[-1]
            assert time.monotonic() < deadline, f"nginx logged no request for {request_uri}"
            time.sleep(0.02)


def _start_nginx(
    stack: ExitStack,
    prefix: Path,
    conf: Callable[[Path, int], str],
    ready: str,
) -> Nginx:
    """Debian's nginx from a prefix dir, configured by `conf(prefix, port)`; waits for `ready`."""
    binary = require("nginx", "/usr/sbin/nginx")
    for sub in ("conf", "tmp/client_body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    port = free_port()
    (prefix / "conf" / "nginx.conf").write_text(conf(prefix, port))
    args = [binary, "-p", str(prefix), "-c", "conf/nginx.conf", "-e", "stderr", "-g", "daemon off;"]
    proc = stack.enter_context(process(args, dict(os.environ), prefix / "nginx.out"))
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}{ready}", proc=proc)
    return Nginx(url, prefix)


@pytest.fixture(scope="session")
def nginx_for(
    app_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[list[dict[str, Any]]], Nginx]]:
    """Start Debian's nginx with a config generated from the Ingresses in some rendered objects."""
    app_port = int(app_url.rsplit(":", 1)[1])
    started: dict[int, Nginx] = {}
    with ExitStack() as stack:

        def start(objs: list[dict[str, Any]]) -> Nginx:
            if id(objs) in started:
                return started[id(objs)]
            ingresses = [o for o in objs if o["kind"] == "Ingress"]
            locs = ingress_nginx.locations(ingresses)
            backends = {}
            for loc in locs:
                # The chain must resolve in the manifests; the test app stands in for the pods.
                service_target(objs, loc.service, loc.port)
                backends[(loc.service, loc.port)] = f"127.0.0.1:{app_port}"
            started[id(objs)] = _start_nginx(
                stack,
                tmp_path_factory.mktemp("nginx"),
                lambda prefix, port: ingress_nginx.nginx_conf(prefix, port, locs, backends),
                "/stock-ticker/healthz",
            )
            return started[id(objs)]

        yield start


@pytest.fixture(scope="session")
def gateway() -> dict[str, Any]:
    """The Gateway `make configure-gateway` creates, which the HTTPRoute attaches to."""
    return yaml.safe_load((ROOT / "infra" / "gateway" / "gateway.yaml").read_text())


@pytest.fixture(scope="session")
def gateway_for(
    app_url: str, gateway: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[list[dict[str, Any]]], Nginx]]:
    """Start Debian's nginx with a config generated from the HTTPRoutes that attach to the
    Gateway, as NGINX Gateway Fabric would program its data plane."""
    app_port = int(app_url.rsplit(":", 1)[1])
    started: dict[int, Nginx] = {}
    with ExitStack() as stack:

        def start(objs: list[dict[str, Any]]) -> Nginx:
            if id(objs) in started:
                return started[id(objs)]
            routes = [o for o in objs if o["kind"] == "HTTPRoute"]
            attached = [r for r in routes if gateway_nginx.admits(gateway, r)]
            assert attached == routes, "every HTTPRoute attaches to the Gateway"
            rules = gateway_nginx.rules(attached)
            backends = {}
            for rule in rules:
                if rule.backend is not None:
                    service_target(objs, *rule.backend)  # Service port -> the pods' port
                    backends[rule.backend] = f"127.0.0.1:{app_port}"
            started[id(objs)] = _start_nginx(
                stack,
                tmp_path_factory.mktemp("gateway"),
                lambda prefix, port: gateway_nginx.nginx_conf(prefix, port, rules, backends),
                "/stock-ticker/healthz",
            )
            return started[id(objs)]

        yield start


@pytest.fixture(scope="session")
def nginx(
    nginx_for: Callable[[list[dict[str, Any]]], Nginx], manifests: list[dict[str, Any]]
) -> Nginx:
    return nginx_for(manifests)
