"""Fixtures: rendered manifests, the real service process, nginx generated from the Ingress or
the HTTPRoute."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import gateway_nginx
import ingress_nginx
import nginx_http
import pytest
import yaml
from support import ROOT, objects, render, running_app, service_target
from tests.support.processes import HttpReady, ServerProcess, free_port
from tests.support.programs import require


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
    with running_app(tmp_path_factory, "app", ALLOWED_SYMBOLS="*", LOG_LEVEL="INFO") as url:
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
    for sub in ("conf", *(f"tmp/{kind}" for kind in nginx_http.TEMP_KINDS)):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    port = free_port()
    (prefix / "conf" / "nginx.conf").write_text(conf(prefix, port))
    args = [binary, "-p", str(prefix), "-c", "conf/nginx.conf", "-e", "stderr", "-g", "daemon off;"]
    log = prefix / "nginx.out"
    server = ServerProcess("nginx", args, dict(os.environ), log, port, HttpReady(ready), cwd=ROOT)
    stack.enter_context(server)
    return Nginx(server.url, prefix)


Objs = list[dict[str, Any]]
#: A rendering's objects and the app's host:port -> the nginx.conf for (prefix, listen port).
Configure = Callable[[Objs, str], Callable[[Path, int], str]]


def _nginx_per_rendering(
    app_url: str, tmp_path_factory: pytest.TempPathFactory, kind: str, configure: Configure
) -> Iterator[Callable[[Objs], Nginx]]:
    """`start(objs)`: an nginx configured by `configure` from some rendered objects, the real
    app behind every backend; started once per rendering, stopped at the end of the session."""
    app = app_url.removeprefix("http://")
    started: dict[int, Nginx] = {}
    with ExitStack() as stack:

        def start(objs: Objs) -> Nginx:
            if id(objs) not in started:
                started[id(objs)] = _start_nginx(
                    stack,
                    tmp_path_factory.mktemp(kind),
                    configure(objs, app),
                    "/stock-ticker/healthz",
                )
            return started[id(objs)]

        yield start


def _ingress_conf(objs: Objs, app: str) -> Callable[[Path, int], str]:
    locs = ingress_nginx.locations([o for o in objs if o["kind"] == "Ingress"])
    backends = {}
    for loc in locs:
        # The chain must resolve in the manifests; the test app stands in for the pods.
        service_target(objs, loc.service, loc.port)
        backends[(loc.service, loc.port)] = app
    return lambda prefix, port: ingress_nginx.nginx_conf(prefix, port, locs, backends)


@pytest.fixture(scope="session")
def nginx_for(
    app_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[Objs], Nginx]]:
    """Start Debian's nginx with a config generated from the Ingresses in some rendered objects."""
    yield from _nginx_per_rendering(app_url, tmp_path_factory, "nginx", _ingress_conf)


@pytest.fixture(scope="session")
def gateway() -> dict[str, Any]:
    """The Gateway `make configure-gateway` creates, which the HTTPRoute attaches to."""
    return yaml.safe_load((ROOT / "infra" / "gateway" / "gateway.yaml").read_text())


@pytest.fixture(scope="session")
def gateway_for(
    app_url: str, gateway: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[Objs], Nginx]]:
    """Start Debian's nginx with a config generated from the HTTPRoutes that attach to the
    Gateway, as NGINX Gateway Fabric would program its data plane."""

    def configure(objs: Objs, app: str) -> Callable[[Path, int], str]:
        routes = [o for o in objs if o["kind"] == "HTTPRoute"]
        attached = [r for r in routes if gateway_nginx.admits(gateway, r)]
        assert attached == routes, "every HTTPRoute attaches to the Gateway"
        rules = gateway_nginx.rules(attached)
        backends = {}
        for rule in rules:
            if rule.backend is not None:
                service_target(objs, *rule.backend)  # Service port -> the pods' port
                backends[rule.backend] = app
        return lambda prefix, port: gateway_nginx.nginx_conf(prefix, port, rules, backends)

    yield from _nginx_per_rendering(app_url, tmp_path_factory, "gateway", configure)


@pytest.fixture(scope="session")
def nginx(
    nginx_for: Callable[[list[dict[str, Any]]], Nginx], manifests: list[dict[str, Any]]
) -> Nginx:
    return nginx_for(manifests)
