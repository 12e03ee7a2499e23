"""Helpers shared by infra/tests: paths, running a command, rendering the manifests, GET.

Finding a tool (`require`), free ports and starting servers are the tests' support package's
(services/api/tests/support, on the path by pytest.ini), as in the service's tests and the bench."""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.support.processes import service_process
from tests.support.programs import require

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "infra" / "k8s"
DOCKERFILE = ROOT / "infra" / "docker" / "Dockerfile"
ARTIFACTS = ROOT / "test-artifacts"


def run(*args: str | Path, stdin: str | None = None, timeout: float = 120) -> str:
    """Run a command; fail the test with its output when it exits non-zero."""
    proc = subprocess.run(
        [str(a) for a in args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, args))} exited {proc.returncode}\n"
            f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
        )
    return proc.stdout


def render(*components: str) -> str:
    """`kubectl kustomize` of the base, optionally with components from infra/k8s/components."""
    kubectl = require("kubectl")
    if not components:
        return run(kubectl, "kustomize", K8S)
    with tempfile.TemporaryDirectory() as overlay:
        rel = os.path.relpath(K8S, overlay)
        Path(overlay, "kustomization.yaml").write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "kustomize.config.k8s.io/v1beta1",
                    "kind": "Kustomization",
                    "resources": [rel],
                    "components": [f"{rel}/components/{c}" for c in components],
                }
            )
        )
        return run(kubectl, "kustomize", overlay)


@contextlib.contextmanager
def running_app(tmp_path_factory: pytest.TempPathFactory, name: str, **env: str) -> Iterator[str]:
    """The real `python -m stock_ticker` (sample data, /metrics on, no drain, `env` over that) on
    a free port, its output in a `name` directory; its URL, until the block ends."""
    log = tmp_path_factory.mktemp(name) / f"{name}.log"
    configured = {"ENABLE_METRICS": "true", "SHUTDOWN_DRAIN_SECONDS": "0", **env}
    with service_process(configured, log, cwd=ROOT) as app:
        yield app.url


def objects(rendered: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(rendered) if doc]


def find(objs: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    matches = [
        o for o in objs if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)
    ]
    assert len(matches) == 1, f"expected one {kind} {name or ''}, found {len(matches)}"
    return matches[0]


def app_variables() -> set[str]:
    """Every environment variable the service reads: config.py's table."""
    from stock_ticker.config import VARIABLES

    return {variable.name for variable in VARIABLES}


class Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    @property
    def text(self) -> str:
        return self.body.decode()


def get(url: str, headers: dict[str, str] | None = None) -> Response:
    """GET that returns error statuses instead of raising."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return Response(resp.status, dict(resp.headers), resp.read())
    except urllib.error.HTTPError as exc:
        return Response(exc.code, dict(exc.headers), exc.read())


def service_target(objs: list[dict[str, Any]], service: str, port: str | int) -> int:
    """Follow Service port -> targetPort -> the selected pods' containerPort; return the number."""
    svc = find(objs, "Service", service)
    sport = next(p for p in svc["spec"]["ports"] if port in (p.get("name"), p["port"]))
    target = sport.get("targetPort", sport["port"])
    deployments = [
        d
        for d in objs
        if d["kind"] == "Deployment"
        and svc["spec"]["selector"].items() <= d["spec"]["template"]["metadata"]["labels"].items()
    ]
    assert len(deployments) == 1, f"Service {service} selects {len(deployments)} Deployments"
    for container in deployments[0]["spec"]["template"]["spec"]["containers"]:
        for cport in container.get("ports", []):
            if target in (cport.get("name"), cport["containerPort"]):
                return int(cport["containerPort"])
    raise AssertionError(f"Service {service} port {port} targets no container port ({target})")
