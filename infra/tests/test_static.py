"""Static checks: Dockerfile lint, YAML lint, rendering, schema validation, policy scan."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml
from support import DOCKERFILE, K8S, ROOT, objects, render, require, run

BIN = Path(sys.executable).parent
VARIANTS = {"base": (), "public-metrics": ("public-metrics",)}


def test_hadolint_passes_with_no_warnings() -> None:
    hadolint = require("hadolint", str(BIN / "hadolint"))
    run(hadolint, "--failure-threshold", "style", DOCKERFILE)


def test_yamllint_passes() -> None:
    yamllint = require("yamllint", str(BIN / "yamllint"))
    run(yamllint, "--strict", "-c", ROOT / "infra" / ".yamllint.yaml", ROOT / "infra")


@pytest.mark.parametrize("variant", VARIANTS)
def test_kustomize_renders_every_kind(variant: str) -> None:
    kinds = {o["kind"] for o in objects(render(*VARIANTS[variant]))}
    assert kinds >= {
        "Namespace",
        "ServiceAccount",
        "ConfigMap",
        "Deployment",
        "Service",
        "Ingress",
        "PodDisruptionBudget",
        "NetworkPolicy",
    }


@pytest.mark.parametrize("variant", VARIANTS)
def test_rendered_manifests_validate_strictly_against_kubernetes_1_32(variant: str) -> None:
    validate = require("kubernetes-validate", str(BIN / "kubernetes-validate"))
    run(validate, "--strict", "-k", "1.32.0", "-", stdin=render(*VARIANTS[variant]))


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
