"""Static checks: Dockerfile lint, YAML lint, rendering, schema validation, policy scan."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml
from support import DOCKERFILE, K8S, ROOT, objects, render, run
from tests.support.programs import IN_CI, require

BIN = Path(sys.executable).parent
#: What `make manifests` can render: the base and each component, in the order it lists them.
VARIANTS = {
    "base": (),
    "public-metrics": ("public-metrics",),
    "gateway-api": ("gateway-api",),
    "gateway-api+public-metrics": ("gateway-api", "public-metrics"),
    "prometheus-operator": ("prometheus-operator",),
    "all": ("gateway-api", "prometheus-operator", "public-metrics"),
    "without-valkey": ("without-valkey",),
}
CORE = {
    "Namespace",
    "ServiceAccount",
    "ConfigMap",
    "Deployment",
    "Service",
    "PodDisruptionBudget",
    "NetworkPolicy",
}
#: Kinds from CRDs, which kubernetes-validate has no schema for: checked by schemas/validate.mjs.
CRD_GROUPS = ("gateway.networking.k8s.io/", "monitoring.coreos.com/")


def kinds_of(variant: str) -> set[str]:
    components = VARIANTS[variant]
    kinds = set(CORE)
    kinds |= {"HTTPRoute"} if "gateway-api" in components else {"Ingress"}
    if "prometheus-operator" in components:
        kinds |= {"PodMonitor", "PrometheusRule"}
    if "without-valkey" not in components:
        kinds |= {"StatefulSet", "HorizontalPodAutoscaler"}
    return kinds


def split(variant: str) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """The rendered objects: those of core Kubernetes, and those of CRDs."""
    docs = objects(render(*VARIANTS[variant]))
    crds = [d for d in docs if str(d["apiVersion"]).startswith(CRD_GROUPS)]
    return [d for d in docs if d not in crds], crds


def validate_crds(docs: list[dict[str, object]]) -> subprocess.CompletedProcess[str]:
    node = require("node", "/usr/bin/node")
    modules = os.environ.get("SCHEMAS_NODE_MODULES", "")
    if not Path(modules, "@kubernetes-models").is_dir():
        message = "schema packages not installed (tox -e infra runs tools.py)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return subprocess.run(
        [node, str(Path(__file__).parent / "schemas" / "validate.mjs"), modules],
        input=json.dumps(docs),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_hadolint_passes_with_no_warnings() -> None:
    hadolint = require("hadolint", str(BIN / "hadolint"))
    run(hadolint, "--failure-threshold", "style", DOCKERFILE)


def test_yamllint_passes() -> None:
    yamllint = require("yamllint", str(BIN / "yamllint"))
    run(yamllint, "--strict", "-c", ROOT / "infra" / ".yamllint.yaml", ROOT / "infra")


@pytest.mark.parametrize("variant", VARIANTS)
def test_kustomize_renders_every_kind(variant: str) -> None:
    kinds = {o["kind"] for o in objects(render(*VARIANTS[variant]))}
    assert kinds == kinds_of(variant)


@pytest.mark.parametrize("variant", VARIANTS)
def test_rendered_manifests_validate_strictly_against_kubernetes_1_32(variant: str) -> None:
    validate = require("kubernetes-validate", str(BIN / "kubernetes-validate"))
    core, _ = split(variant)
    run(validate, "--strict", "-k", "1.32.0", "-", stdin=yaml.safe_dump_all(core))


@pytest.mark.parametrize(
    "variant",
    [v for v, c in VARIANTS.items() if {"gateway-api", "prometheus-operator"} & set(c)],
)
def test_gateway_api_and_prometheus_operator_objects_match_their_schemas(variant: str) -> None:
    _, crds = split(variant)
    assert crds
    proc = validate_crds(crds)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count(": valid") == len(crds), proc.stdout


def test_the_gateway_manifest_matches_the_gateway_api_schema() -> None:
    gateway = yaml.safe_load((ROOT / "infra" / "gateway" / "gateway.yaml").read_text())
    proc = validate_crds([gateway])
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("kind", "where", "bad"),
    [
        # An Ingress habit: Gateway API path types are PathPrefix, Exact, RegularExpression.
        ("HTTPRoute", ("spec", "rules", 0, "matches", 0, "path", "type"), "Prefix"),
        ("PrometheusRule", ("spec", "groups", 0, "rules", 0, "for"), "5 minutes"),
        ("PodMonitor", ("spec", "podMetricsEndpoints", 0, "interval"), "30"),
    ],
)
def test_the_schema_check_rejects_a_wrong_value(
    kind: str, where: tuple[object, ...], bad: str
) -> None:
    """Guard for the check above: it must fail on a realistic mistake, or it proves nothing.
    (It checks types, enums, patterns and required fields; not unknown fields, which the API
    server would prune, nor CEL rules: gateway_nginx.py refuses fields it does not model.)"""
    _, crds = split("all")
    (obj,) = [o for o in crds if o["kind"] == kind]
    node: object = obj
    for key in where[:-1]:
        node = node[key]  # type: ignore[index]
    node[where[-1]] = bad  # type: ignore[index]
    proc = validate_crds([obj])
    assert proc.returncode != 0, proc.stdout
    assert "must" in proc.stdout, proc.stdout


def test_the_validator_is_strict_about_misspelt_fields() -> None:
    """Guard for the check above: a misspelt field must fail it, or it proves nothing."""
    validate = require("kubernetes-validate", str(BIN / "kubernetes-validate"))
    docs = objects(render())
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGett"] = {}
    proc = subprocess.run(
        [validate, "--strict", "-k", "1.32.0", "-"],
        input=yaml.safe_dump(deployment),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode != 0, proc.stdout + proc.stderr


def test_the_secret_manifest_is_made_without_a_server_and_without_the_key_on_disk() -> None:
    """What `make deploy` pipes to `kubectl apply`: the key comes through stdin only."""
    kubectl = require("kubectl")
    out = run(
        kubectl,
        "-n",
        "stock-ticker",
        "create",
        "secret",
        "generic",
        "stock-ticker-api",
        "--from-env-file=/dev/stdin",
        "--dry-run=client",
        "-o",
        "yaml",
        stdin="STOCKS_API_KEY=not-a-real-key\n",
    )
    secret = yaml.safe_load(out)
    assert secret["kind"] == "Secret"
    assert secret["metadata"]["name"] == "stock-ticker-api"
    assert secret["metadata"]["namespace"] == "stock-ticker"
    assert set(secret["data"]) == {"STOCKS_API_KEY"}


def checkov() -> str:
    return require("checkov", os.environ.get("CHECKOV", ""), str(BIN / "checkov"))


def test_checkov_passes_on_the_dockerfile() -> None:
    run(
        checkov(),
        "-d",
        DOCKERFILE.parent,
        "--framework",
        "dockerfile",
        "--skip-download",
        "--quiet",
        "--compact",
    )


@pytest.mark.parametrize("variant", VARIANTS)
def test_checkov_passes_on_the_rendered_manifests(variant: str) -> None:
    """Scans what is applied (namespace and image tag set by kustomize), not the source files.

    Skips are annotations on the objects themselves (`checkov.io/skipN: CHECK=reason`).
    """
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "stock-ticker.yaml").write_text(render(*VARIANTS[variant]))
        out = run(
            checkov(),
            "-d",
            tmp,
            "--framework",
            "kubernetes",
            "--skip-download",
            "--quiet",
            "--compact",
        )
    assert "Failed checks: 0," in out, out


def test_every_checkov_skip_says_why() -> None:
    for path in K8S.rglob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            for key, value in ((doc or {}).get("metadata", {}).get("annotations") or {}).items():
                if key.startswith("checkov.io/skip"):
                    check, _, reason = value.partition("=")
                    assert check.startswith("CKV") and len(reason) > 20, f"{path}: {key}"
    for line in DOCKERFILE.read_text().splitlines():
        if "hadolint ignore" in line or "checkov:skip" in line:
            assert len(line.split("=", 1)[-1]) > 20, line
