"""Fixtures: rendered manifests, the real service process, nginx generated from the Ingress."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import ingress_nginx
import pytest
from support import free_port, objects, process, render, require, service_target, wait_http


@pytest.fixture(scope="session")
def manifests() -> list[dict[str, Any]]:
    return objects(render())


@pytest.fixture(scope="session")
def manifests_public_metrics() -> list[dict[str, Any]]:
    return objects(render("public-metrics"))


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


@pytest.fixture(scope="session")
def nginx_for(
    app_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[list[dict[str, Any]]], Nginx]]:
    """Start Debian's nginx with a config generated from the Ingresses in some rendered objects."""
    binary = require("nginx", "/usr/sbin/nginx")
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
            prefix = tmp_path_factory.mktemp("nginx")
            for sub in (
                "conf",
                "tmp/client_body",
                "tmp/proxy",
                "tmp/fastcgi",
                "tmp/uwsgi",
                "tmp/scgi",
            ):
                (prefix / sub).mkdir(parents=True, exist_ok=True)
            port = free_port()
            conf = ingress_nginx.nginx_conf(prefix, port, locs, backends)
            (prefix / "conf" / "nginx.conf").write_text(conf)
            args = [
                binary,
                "-p",
                str(prefix),
                "-c",
                "conf/nginx.conf",
                "-e",
                "stderr",
                "-g",
                "daemon off;",
            ]
            proc = stack.enter_context(process(args, dict(os.environ), prefix / "nginx.out"))
            url = f"http://127.0.0.1:{port}"
            wait_http(f"{url}/stock-ticker/healthz", proc=proc)
            started[id(objs)] = Nginx(url, prefix)
            return started[id(objs)]

        yield start


@pytest.fixture(scope="session")
def nginx(
    nginx_for: Callable[[list[dict[str, Any]]], Nginx], manifests: list[dict[str, Any]]
) -> Nginx:
    return nginx_for(manifests)
