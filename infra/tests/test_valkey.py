"""The shared store's objects (Valkey, its Service and NetworkPolicy, the autoscaler) checked
against the app's own settings, the layout without them, and the Valkey arguments run by a real
server (Debian's redis-server; Valkey takes the same)."""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
from support import ROOT, find, objects, render
from tests.support.processes import ServerProcess, free_port
from tests.support.programs import require
from tests.support.redis_server import answers_ping, require_redis_server

Objs = list[dict[str, Any]]
APP = {"app.kubernetes.io/name": "stock-ticker", "app.kubernetes.io/component": "api"}
VALKEY = {"app.kubernetes.io/name": "stock-ticker", "app.kubernetes.io/component": "valkey"}


@pytest.fixture(scope="module")
def without_valkey() -> Objs:
    return objects(render("without-valkey"))


def statefulset(objs: Objs) -> dict[str, Any]:
    return find(objs, "StatefulSet", "stock-ticker-valkey")


def valkey_container(objs: Objs) -> dict[str, Any]:
    (c,) = statefulset(objs)["spec"]["template"]["spec"]["containers"]
    return c


def arguments(objs: Objs) -> dict[str, str]:
    args = valkey_container(objs)["args"]
    return dict(zip(args[::2], args[1::2], strict=True))


def settings_of(objs: Objs) -> Any:
    from stock_ticker.config import load_settings

    return load_settings(find(objs, "ConfigMap", "stock-ticker")["data"])


def test_valkey_is_the_official_image_at_a_pinned_release(manifests: Objs) -> None:
    image = valkey_container(manifests)["image"]
    assert re.fullmatch(r"valkey/valkey:\d+\.\d+\.\d+(-alpine[\d.]*)?", image), image


def test_the_budget_is_kept_in_an_append_only_file_on_a_claimed_volume(manifests: Objs) -> None:
    args = arguments(manifests)
    assert args["--appendonly"] == "yes"
    assert args["--appendfsync"] == "everysec"
    (mount,) = valkey_container(manifests)["volumeMounts"]
    assert mount["mountPath"] == args["--dir"]
    (claim,) = statefulset(manifests)["spec"]["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == mount["name"]
    assert claim["spec"]["resources"]["requests"]["storage"]
    # Eviction spares keys without an expiry: the day's count of calls has none.
    assert args["--maxmemory-policy"] == "volatile-lru"


def test_valkey_and_the_app_share_one_password_from_the_secret(manifests: Objs) -> None:
    ref = {"name": "stock-ticker-valkey", "key": "REDIS_PASSWORD"}
    env = {e["name"]: e for e in valkey_container(manifests)["env"]}
    assert env["REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"] == ref
    assert arguments(manifests)["--requirepass"] == "$(REDIS_PASSWORD)"
    (app,) = find(manifests, "Deployment", "stock-ticker")["spec"]["template"]["spec"]["containers"]
    app_env = {e["name"]: e for e in app["env"]}
    assert app_env["REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"] == ref
    makefile = (ROOT / "Makefile").read_text()
    assert "create secret generic stock-ticker-valkey --from-env-file=/dev/stdin" in makefile


def test_valkey_runs_restricted_with_probes_and_resources(manifests: Objs) -> None:
    spec = statefulset(manifests)["spec"]["template"]["spec"]
    c = valkey_container(manifests)
    sc = c["securityContext"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert spec["automountServiceAccountToken"] is False
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert probe in c, probe
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(c["resources"][kind]), kind


def test_the_apps_redis_url_names_the_valkey_service_and_port(manifests: Objs) -> None:
    from yarl import URL

    url = URL(settings_of(manifests).redis_url)
    service = find(manifests, "Service", "stock-ticker-valkey")
    assert url.host == service["metadata"]["name"]
    (port,) = service["spec"]["ports"]
    assert url.port == port["port"]
    assert service["spec"]["selector"].items() <= VALKEY.items()
    (container_port,) = valkey_container(manifests)["ports"]
    assert port["targetPort"] == container_port["name"]
    assert str(container_port["containerPort"]) == arguments(manifests)["--port"]
    labels = statefulset(manifests)["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()


def test_only_the_apps_pods_reach_valkey_and_valkey_reaches_nothing(manifests: Objs) -> None:
    policy = find(manifests, "NetworkPolicy", "stock-ticker-valkey")["spec"]
    assert policy["podSelector"]["matchLabels"] == VALKEY
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
    (rule,) = policy["ingress"]
    assert rule["from"] == [{"podSelector": {"matchLabels": APP}}]
    assert [p["port"] for p in rule["ports"]] == ["valkey"]
    assert policy["egress"] == []


def test_the_deployment_counts_one_budget_of_25_and_scales_on_cpu(manifests: Objs) -> None:
    settings = settings_of(manifests)
    assert settings.upstream_daily_budget == 25
    assert settings.web_concurrency == 1
    hpa = find(manifests, "HorizontalPodAutoscaler", "stock-ticker")["spec"]
    assert hpa["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "stock-ticker",
    }
    deployment = find(manifests, "Deployment", "stock-ticker")["spec"]
    assert hpa["minReplicas"] == deployment["replicas"]
    pdb = find(manifests, "PodDisruptionBudget", "stock-ticker")["spec"]
    assert pdb["maxUnavailable"] < hpa["minReplicas"]


def test_deploy_md_states_the_quota_formula_with_the_manifests_numbers(manifests: Objs) -> None:
    settings = settings_of(manifests)
    pods = find(manifests, "HorizontalPodAutoscaler", "stock-ticker")["spec"]["maxReplicas"]
    budget, fallback = settings.upstream_daily_budget, settings.redis_fallback_daily_budget
    formula = f"{budget} + {fallback} \N{MULTIPLICATION SIGN} {pods} = {budget + fallback * pods}"
    assert formula in (ROOT / "docs" / "deploy.md").read_text()


def test_without_valkey_every_pod_keeps_its_own_state_within_the_free_tier(
    without_valkey: Objs,
) -> None:
    kinds = {(o["kind"], o["metadata"]["name"]) for o in without_valkey}
    assert ("StatefulSet", "stock-ticker-valkey") not in kinds
    assert ("Service", "stock-ticker-valkey") not in kinds
    assert ("NetworkPolicy", "stock-ticker-valkey") not in kinds
    assert not [o for o in without_valkey if o["kind"] == "HorizontalPodAutoscaler"]
    settings = settings_of(without_valkey)
    assert settings.redis_url == ""
    deployment = find(without_valkey, "Deployment", "stock-ticker")["spec"]
    assert settings.upstream_daily_budget * deployment["replicas"] <= 25
    (app,) = deployment["template"]["spec"]["containers"]
    assert [e["name"] for e in app["env"]] == ["STOCKS_API_KEY"]
    egress = find(without_valkey, "NetworkPolicy", "stock-ticker")["spec"]["egress"]
    ports = {(p["port"], p["protocol"]) for rule in egress for p in rule["ports"]}
    assert ports == {(53, "UDP"), (53, "TCP"), (443, "TCP")}


def test_the_valkey_arguments_start_a_real_server_with_the_append_only_file(
    manifests: Objs, tmp_path: Path
) -> None:
    binary = require_redis_server()
    cli = require("redis-cli", "/usr/bin/redis-cli")
    port = str(free_port())
    given = {
        **arguments(manifests),
        "--port": port,
        "--dir": str(tmp_path),
        "--requirepass": "test-password",
    }
    args = [binary, *(item for pair in given.items() for item in pair), "--bind", "127.0.0.1"]
    log = tmp_path / "redis-server.log"
    server = ServerProcess("redis-server", args, {}, log, int(port), answers_ping, signal.SIGTERM)
    try:
        try:
            server.start(timeout=10)
        except RuntimeError as exc:
            pytest.fail(f"the server refused the StatefulSet's arguments, or did not answer: {exc}")
        ask = [cli, "-p", port, "--no-auth-warning", "-a", "test-password"]
        assert subprocess.run([*ask, "ping"], capture_output=True, text=True).stdout == "PONG\n"
        config = subprocess.run(
            [*ask, "config", "get", "appendonly"], capture_output=True, text=True, check=True
        )
        assert config.stdout.split() == ["appendonly", "yes"]
        denied = subprocess.run([cli, "-p", port, "ping"], capture_output=True, text=True)
        assert "NOAUTH" in denied.stdout + denied.stderr
    finally:
        server.stop()
