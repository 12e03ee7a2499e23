"""Properties of the rendered objects, checked against the service's own code where it can say."""

from __future__ import annotations

import re
import tomllib
from typing import Any

import pytest
from support import ROOT, app_variables, find, service_target

Objs = list[dict[str, Any]]
NAMESPACE = "stock-ticker"


def deployment(objs: Objs) -> dict[str, Any]:
    return find(objs, "Deployment", "stock-ticker")


def pod(objs: Objs) -> dict[str, Any]:
    return deployment(objs)["spec"]["template"]


def container(objs: Objs) -> dict[str, Any]:
    (c,) = pod(objs)["spec"]["containers"]
    return c


def configmap(objs: Objs) -> dict[str, str]:
    return find(objs, "ConfigMap", "stock-ticker")["data"]


def app_routes(objs: Objs) -> set[str]:
    """The routes of the real app built with the ConfigMap's settings."""
    from stock_ticker.app import create_app
    from stock_ticker.config import load_settings

    app = create_app(load_settings(configmap(objs)))
    return {r.canonical for r in app.router.resources()}


def test_every_namespaced_object_is_in_the_namespace(manifests: Objs) -> None:
    find(manifests, "Namespace", NAMESPACE)
    for obj in manifests:
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == NAMESPACE, obj["metadata"]["name"]


def test_namespace_enforces_the_restricted_pod_security_standard(manifests: Objs) -> None:
    labels = find(manifests, "Namespace", NAMESPACE)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_configmap_keys_are_exactly_the_non_secret_variables_the_app_reads(manifests: Objs) -> None:
    read = app_variables()
    keys = set(configmap(manifests))
    assert keys <= read, f"keys the app never reads: {sorted(keys - read)}"
    secret = {"STOCKS_API_KEY", "REDIS_PASSWORD"}
    assert read - keys == secret, f"not in the ConfigMap: {sorted(read - keys)}"


def test_the_configmap_values_are_accepted_by_the_app(manifests: Objs) -> None:
    from stock_ticker.config import load_settings

    settings = load_settings(configmap(manifests))
    assert settings.enable_metrics
    assert settings.port == 8000
    assert settings.host == "0.0.0.0"


def test_the_api_key_comes_from_the_secret_only(manifests: Objs) -> None:
    env = {e["name"]: e for e in container(manifests).get("env", [])}
    ref = env["STOCKS_API_KEY"]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": "stock-ticker-api", "key": "STOCKS_API_KEY"}
    assert "STOCKS_API_KEY" in app_variables()
    assert all(o["kind"] != "Secret" for o in manifests), "the Secret is made by make deploy"
    makefile = (ROOT / "Makefile").read_text()
    assert "create secret generic stock-ticker-api --from-env-file=/dev/stdin" in makefile


def test_deployment_rolls_out_without_losing_capacity(manifests: Objs) -> None:
    spec = deployment(manifests)["spec"]
    assert spec["replicas"] >= 2
    assert spec["strategy"]["type"] == "RollingUpdate"
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_probes_point_at_real_routes_of_the_app(manifests: Objs) -> None:
    c = container(manifests)
    routes = app_routes(manifests)
    port_names = {p["name"]: p["containerPort"] for p in c["ports"]}
    expected = {
        "livenessProbe": "/healthz",
        "readinessProbe": "/readyz",
        "startupProbe": "/healthz",
    }
    for probe, path in expected.items():
        get = c[probe]["httpGet"]
        assert get["path"] == path, probe
        assert get["path"] in routes, f"{probe} {get['path']} is not a route of the app"
        assert get["port"] in port_names or get["port"] in port_names.values()


def test_the_startup_probe_gives_the_app_time_and_liveness_is_not_hair_trigger(
    manifests: Objs,
) -> None:
    c = container(manifests)
    startup = c["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 30
    assert c["livenessProbe"]["failureThreshold"] >= 3


def test_container_listens_where_the_app_listens(manifests: Objs) -> None:
    (port,) = container(manifests)["ports"]
    assert port["containerPort"] == int(configmap(manifests)["PORT"])


def test_prometheus_scrapes_a_real_route(manifests: Objs) -> None:
    annotations = pod(manifests)["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert (
        int(annotations["prometheus.io/port"]) == container(manifests)["ports"][0]["containerPort"]
    )
    assert annotations["prometheus.io/path"] in app_routes(manifests)


def test_resources_have_requests_and_limits(manifests: Objs) -> None:
    resources = container(manifests)["resources"]
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(resources[kind]), kind


def test_pod_is_locked_down(manifests: Objs) -> None:
    spec = pod(manifests)["spec"]
    sc = container(manifests)["securityContext"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] > 0
    assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert "add" not in sc["capabilities"]
    assert sc["runAsNonRoot"] is True
    assert spec["automountServiceAccountToken"] is False


def test_pod_user_is_the_image_user(manifests: Objs) -> None:
    dockerfile = (ROOT / "infra" / "docker" / "Dockerfile").read_text()
    users = re.findall(r"^USER (\d+):(\d+)$", dockerfile, re.M)
    assert users, "the api image must set a numeric USER uid:gid"
    uid, gid = users[-1]
    sc = pod(manifests)["spec"]["securityContext"]
    assert (sc["runAsUser"], sc["runAsGroup"]) == (int(uid), int(gid))


def test_grace_period_covers_the_apps_drain_and_shutdown_timeout(manifests: Objs) -> None:
    from stock_ticker.config import load_settings

    settings = load_settings(configmap(manifests))
    drain, timeout = settings.shutdown_drain_seconds, settings.shutdown_timeout_seconds
    grace = pod(manifests)["spec"]["terminationGracePeriodSeconds"]
    assert grace >= drain + timeout + 5, (grace, drain, timeout)


#: Time for the endpoints controller and the proxies to drop a pod once it is marked not ready.
ENDPOINT_PROPAGATION_SECONDS = 1


def test_readiness_tolerates_one_slow_answer_yet_a_draining_pod_leaves_within_the_drain(
    manifests: Objs,
) -> None:
    from stock_ticker.config import load_settings

    probe = container(manifests)["readinessProbe"]
    assert probe["failureThreshold"] >= 2, "one slow answer must not take the pod out"
    assert probe["timeoutSeconds"] <= probe["periodSeconds"], "probes never overlap"
    # From SIGTERM, /readyz fails at once: the next probe is at most one period away, and the
    # pod is out after failureThreshold failures, plus the endpoints' update.
    out_after = probe["periodSeconds"] * probe["failureThreshold"] + ENDPOINT_PROPAGATION_SECONDS
    drain = load_settings(configmap(manifests)).shutdown_drain_seconds
    assert out_after <= drain, f"out after {out_after} s, but the drain is {drain} s"


def test_image_tag_is_the_package_version(manifests: Objs) -> None:
    version = tomllib.loads((ROOT / "services/api/pyproject.toml").read_text())["project"][
        "version"
    ]
    assert container(manifests)["image"] == f"stock-ticker:{version}"


def test_service_selects_the_deployments_pods_and_ports_line_up(manifests: Objs) -> None:
    svc = find(manifests, "Service", "stock-ticker")
    assert svc["spec"]["type"] == "ClusterIP"
    selector = svc["spec"]["selector"]
    assert selector.items() <= pod(manifests)["metadata"]["labels"].items()
    assert service_target(manifests, "stock-ticker", "http") == 8000


def test_selectors_agree(manifests: Objs) -> None:
    labels = pod(manifests)["metadata"]["labels"]
    assert deployment(manifests)["spec"]["selector"]["matchLabels"].items() <= labels.items()
    pdb = find(manifests, "PodDisruptionBudget", "stock-ticker")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    netpol = find(manifests, "NetworkPolicy", "stock-ticker")
    assert netpol["spec"]["podSelector"]["matchLabels"].items() <= labels.items()


def test_pdb_leaves_a_pod_serving(manifests: Objs) -> None:
    spec = find(manifests, "PodDisruptionBudget", "stock-ticker")["spec"]
    replicas = deployment(manifests)["spec"]["replicas"]
    if "maxUnavailable" in spec:
        assert spec["maxUnavailable"] < replicas
    else:
        assert 0 < spec["minAvailable"] < replicas


def test_ingress_routes_the_prefix_to_the_service(manifests: Objs) -> None:
    ing = find(manifests, "Ingress", "stock-ticker")
    annotations = ing["metadata"]["annotations"]
    assert ing["spec"]["ingressClassName"] == "nginx"
    assert annotations["nginx.ingress.kubernetes.io/use-regex"] == "true"
    assert annotations["nginx.ingress.kubernetes.io/rewrite-target"] == "/$2"
    assert annotations["nginx.ingress.kubernetes.io/x-forwarded-prefix"] == "/stock-ticker"
    (rule,) = ing["spec"]["rules"]
    (path,) = rule["http"]["paths"]
    assert path["path"] == "/stock-ticker(/|$)(.*)"
    # ingress-nginx's strict path validation rejects regex characters in a Prefix/Exact path.
    assert path["pathType"] == "ImplementationSpecific"
    assert path["backend"]["service"] == {"name": "stock-ticker", "port": {"name": "http"}}


def test_metrics_are_denied_publicly_unless_the_component_is_used(
    manifests: Objs, manifests_public_metrics: Objs
) -> None:
    deny = find(manifests, "Ingress", "stock-ticker-metrics-deny")
    ranges = deny["metadata"]["annotations"]["nginx.ingress.kubernetes.io/denylist-source-range"]
    assert set(ranges.split(",")) == {"0.0.0.0/0", "::/0"}
    main_path = find(manifests, "Ingress", "stock-ticker")["spec"]["rules"][0]["http"]["paths"][0]
    deny_path = deny["spec"]["rules"][0]["http"]["paths"][0]["path"]
    # ingress-nginx puts longer paths first; a shorter deny path would never be reached.
    assert len(deny_path) > len(main_path["path"])
    assert not [
        o for o in manifests_public_metrics if o["metadata"]["name"] == deny["metadata"]["name"]
    ]


def test_network_policy_admits_only_the_ingress_controller_and_prometheus(manifests: Objs) -> None:
    spec = find(manifests, "NetworkPolicy", "stock-ticker")["spec"]
    assert set(spec["policyTypes"]) == {"Ingress", "Egress"}
    (rule,) = spec["ingress"]
    sources = {
        (
            p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
            p["podSelector"]["matchLabels"]["app.kubernetes.io/name"],
        )
        for p in rule["from"]
    }
    assert sources == {("ingress-nginx", "ingress-nginx"), ("monitoring", "prometheus")}
    assert [p["port"] for p in rule["ports"]] == ["http"]


def test_network_policy_lets_out_only_dns_https_and_the_shared_store(manifests: Objs) -> None:
    spec = find(manifests, "NetworkPolicy", "stock-ticker")["spec"]
    ports = {(p["port"], p["protocol"]) for rule in spec["egress"] for p in rule["ports"]}
    assert ports == {(53, "UDP"), (53, "TCP"), (443, "TCP"), (6379, "TCP")}
    (store,) = [r for r in spec["egress"] if r["ports"][0]["port"] == 6379]
    assert store["to"] == [
        {
            "podSelector": {
                "matchLabels": {
                    "app.kubernetes.io/name": "stock-ticker",
                    "app.kubernetes.io/component": "valkey",
                }
            }
        }
    ]
    (https,) = [r for r in spec["egress"] if r["ports"][0]["port"] == 443]
    assert all(
        "169.254.0.0/16" in b["ipBlock"]["except"]
        for b in https["to"]
        if "0.0.0.0" in b["ipBlock"]["cidr"]
    )


@pytest.mark.parametrize("target", ["test", "api"])
def test_dockerfile_has_the_targets(target: str) -> None:
    dockerfile = (ROOT / "infra" / "docker" / "Dockerfile").read_text()
    assert re.search(rf"^FROM \S+ AS {target}$", dockerfile, re.M)


def test_api_stage_is_slim_and_runs_as_a_numeric_user() -> None:
    dockerfile = (ROOT / "infra" / "docker" / "Dockerfile").read_text()
    api = dockerfile[dockerfile.index(" AS api") :]
    assert re.search(r"^FROM python:3\.\d+\.\d+-slim", dockerfile, re.M), "pinned slim base"
    assert "COPY --from=build /opt/venv /opt/venv" in api
    assert not re.search(r"^RUN .*(pip|apt-get) install", api, re.M), "nothing installed in api"
    assert re.search(r"^USER \d+:\d+$", api, re.M)
    assert re.search(r'^CMD \["python", "-m", "stock_ticker"\]$', api, re.M), "exec-form CMD"
    assert "HEALTHCHECK" in api
    assert "/healthz" in api
    for var in ("PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1"):
        assert var in dockerfile
    for label in ("title", "version", "revision", "source", "licenses", "created"):
        assert f"org.opencontainers.image.{label}=" in api
