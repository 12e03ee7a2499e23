"""The Prometheus Operator component: PodMonitor, alerts (promtool) and the dashboard ConfigMap,
checked against the manifests, the docs and the service's own metric names."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from monitoring_objects import (
    DASHBOARD,
    PROMTOOL_TESTS,
    alerts,
    dashboard,
    panel_queries,
    rule_groups,
    signal,
)
from support import ROOT, find
from test_manifests import app_routes, container, pod
from tests.support.programs import require

Objs = list[dict[str, Any]]


def promtool() -> str:
    return require("promtool", "/usr/bin/promtool")


def promtool_test(tmp_path: Path, groups: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    (tmp_path / "alerts.yaml").write_text(yaml.safe_dump(groups))
    shutil.copy(PROMTOOL_TESTS, tmp_path / "alerts_test.yaml")
    return subprocess.run(
        [promtool(), "test", "rules", str(tmp_path / "alerts_test.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_pod_monitor_scrapes_the_api_pods_on_their_named_port(
    manifests_monitoring: Objs,
) -> None:
    monitor = find(manifests_monitoring, "PodMonitor", "stock-ticker")
    labels = pod(manifests_monitoring)["metadata"]["labels"]
    assert monitor["metadata"]["namespace"] == "stock-ticker"
    assert monitor["spec"]["selector"]["matchLabels"].items() <= labels.items()
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    ports = {p["name"] for p in container(manifests_monitoring)["ports"]}
    assert endpoint["port"] in ports, "a named container port"
    assert endpoint["path"] in app_routes(manifests_monitoring)
    # The job the alerts and the dashboard select is the pod label the PodMonitor names.
    assert labels[monitor["spec"]["jobLabel"]] == "stock-ticker"


def test_the_annotations_stay_for_plain_prometheus(manifests_monitoring: Objs) -> None:
    annotations = pod(manifests_monitoring)["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"


def test_promtool_checks_the_rules(tmp_path: Path) -> None:
    path = tmp_path / "alerts.yaml"
    path.write_text(yaml.safe_dump(rule_groups()))
    proc = subprocess.run(
        [promtool(), "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"SUCCESS: {len(alerts())} rules found" in proc.stdout


def test_promtool_unit_tests_pass(tmp_path: Path) -> None:
    proc = promtool_test(tmp_path, rule_groups())
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("alert", [a["alert"] for a in alerts()])
def test_each_alert_is_made_to_fire(tmp_path: Path, alert: str) -> None:
    """Guard for the unit tests: without the alert they must fail, or they never fire it."""
    groups = rule_groups()
    for group in groups["groups"]:
        group["rules"] = [r for r in group["rules"] if r.get("alert") != alert]
    proc = promtool_test(tmp_path, groups)
    assert proc.returncode != 0
    assert alert in proc.stdout + proc.stderr


def test_each_alert_has_a_firing_and_a_quiet_case() -> None:
    cases = yaml.safe_load(PROMTOOL_TESTS.read_text())["tests"]
    checks = [c for t in cases for c in t["alert_rule_test"]]
    for alert in (a["alert"] for a in alerts()):
        mine = [c for c in checks if c["alertname"] == alert]
        assert any(c["exp_alerts"] for c in mine), f"{alert} is never expected to fire"
        assert any(not c["exp_alerts"] for c in mine), f"{alert} is never expected to stay quiet"


def test_each_alert_says_how_bad_what_and_where_the_runbook_is() -> None:
    runbook = (ROOT / "docs" / "deploy.md").read_text()
    section = runbook[runbook.index("\n### Alerts\n") :]
    section = section[: section.index("\n## ", 1) if "\n## " in section[1:] else None]
    documented = set(re.findall(r"^\| `(StockTicker\w+)` \|", section, re.M))
    names = {a["alert"] for a in alerts()}
    assert documented == names, "one runbook line per alert in docs/deploy.md, Alerts"
    for alert in alerts():
        assert alert["labels"]["severity"] in ("warning", "critical"), alert["alert"]
        assert {"summary", "description", "runbook_url"} <= set(alert["annotations"])
        assert alert["annotations"]["runbook_url"] == "docs/deploy.md#alerts"
        signal(alert["expr"])  # `SIGNAL OP NUMBER`, which test_prometheus.py evaluates


def test_the_dashboard_ships_in_a_configmap_the_grafana_sidecar_loads(
    manifests_monitoring: Objs,
) -> None:
    cm = find(manifests_monitoring, "ConfigMap", "stock-ticker-dashboard")
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert cm["metadata"]["namespace"] == "stock-ticker"
    (content,) = cm["data"].values()
    assert json.loads(content) == json.loads(DASHBOARD.read_text())


def test_the_dashboard_has_the_panels_on_call_needs() -> None:
    titles = " | ".join(p["title"] for p in dashboard()["panels"]).lower()
    for needed in (
        "requests per second",
        "latency by route",
        "cache hit ratio",
        "stale answers",
        "upstream calls by outcome",
        "budget left",
        "5xx",
    ):
        assert needed in titles, needed


def test_the_dashboard_is_well_formed() -> None:
    board = dashboard()
    assert board["uid"] == "stock-ticker"
    variables = {v["name"] for v in board["templating"]["list"]}
    assert variables == {"datasource", "namespace"}
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for panel in board["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["description"], panel["title"]
        assert panel["targets"], panel["title"]
        g = panel["gridPos"]
        mine = {
            (x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])
        }
        assert not cells & mine, f"{panel['title']} overlaps another panel"
        cells |= mine
        assert g["x"] + g["w"] <= 24
    for title, expr in panel_queries():
        assert "$" not in expr, f"{title}: a variable the tests do not fill: {expr}"
        assert 'job="stock-ticker"' in expr, title


def test_every_metric_the_alerts_and_panels_use_is_one_the_service_exposes() -> None:
    """Catches a misspelt name before Prometheus is even started (test_prometheus.py runs them)."""
    from stock_ticker.observability.metrics import Metrics

    metrics = Metrics()
    metrics.requests.observe("GET", "/ndays", 200, 0.001)  # http_* series exist once answered
    metrics.track_shared_store()  # registered with REDIS_URL set
    exposed = set()
    for family in metrics.registry.collect():
        exposed |= {s.name for s in family.samples} | {family.name}
    exposed |= {f"{n}_bucket" for n in list(exposed)} | {"up"}
    external = {"kube_deployment_status_replicas_available"}  # kube-state-metrics
    exprs = [a["expr"] for a in alerts()] + [e for _, e in panel_queries()]
    used = set()
    for expr in exprs:
        used |= set(re.findall(r"\b((?:stock_api|http|process|python|kube)_\w+|up)\s*\{", expr))
    assert used, "no metric found: the pattern above is wrong"
    assert used - exposed <= external, sorted(used - exposed - external)


def test_the_readme_lists_every_label_value_the_service_exposes_at_zero() -> None:
    from stock_ticker.observability.metrics import BUDGET_REFUSAL_REASONS, UPSTREAM_OUTCOMES

    readme = (ROOT / "README.md").read_text()

    def row(metric: str) -> set[str]:
        (line,) = [x for x in readme.splitlines() if x.startswith(f"| `{metric}` |")]
        meaning = line.split("|")[4]
        return set(re.findall(r"`([A-Za-z_]+)`", meaning))

    assert row("stock_api_upstream_requests_total") == set(UPSTREAM_OUTCOMES)
    assert row("stock_api_upstream_budget_refusals_total") == set(BUDGET_REFUSAL_REASONS)
    assert row("http_requests_in_progress") >= {"GET", "HEAD", "OTHER"}
