"""The alerts and the dashboard as the tests read them: from the prometheus-operator component."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from support import K8S

COMPONENT = K8S / "components" / "prometheus-operator"
RULE = COMPONENT / "prometheusrule.yaml"
DASHBOARD = COMPONENT / "dashboard.json"
PROMTOOL_TESTS = Path(__file__).parent / "monitoring" / "alerts_test.yaml"
#: What Grafana fills in that Prometheus does not know, as the tests evaluate the queries.
GRAFANA_VARIABLES = {"$__rate_interval": "15s", "$namespace": "stock-ticker"}
#: An alert expression is `SIGNAL OP NUMBER` (prometheusrule.yaml says so).
_COMPARISON = re.compile(r"^(?P<signal>.*?)\s*(>=|<=|==|!=|>|<)\s*-?[0-9.]+\s*$", re.S)


def rule_groups() -> dict[str, Any]:
    """The PrometheusRule's spec: a Prometheus rules file (`groups:`) as it stands."""
    spec: dict[str, Any] = yaml.safe_load(RULE.read_text())["spec"]
    return spec


def alerts() -> list[dict[str, Any]]:
    return [r for g in rule_groups()["groups"] for r in g["rules"] if "alert" in r]


def signal(expr: str) -> str:
    """The expression without its final comparison: what the alert measures."""
    match = _COMPARISON.match(expr.strip())
    assert match, f"not `SIGNAL OP NUMBER`: {expr}"
    return match.group("signal")


def dashboard() -> dict[str, Any]:
    board: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return board


def panel_queries() -> list[tuple[str, str]]:
    """(panel title, PromQL) for every target of every panel, with Grafana's variables filled."""
    found = []
    for panel in dashboard()["panels"]:
        for target in panel["targets"]:
            expr = target["expr"]
            for name, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(name, value)
            found.append((panel["title"], expr))
    return found
