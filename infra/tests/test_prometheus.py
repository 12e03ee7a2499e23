"""A real Prometheus (Debian's) scrapes the real service under a little traffic, the way the
PodMonitor has the Operator do it, and loads the PrometheusRule: every dashboard query and
every alert's signal must parse and return data, no alert fires on a healthy service, and the
counters of a two-worker service never reset."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from monitoring_objects import alerts, panel_queries, rule_groups, signal
from support import ROOT, find, get, objects, render, running_app
from tests.support.processes import HttpReady, ServerProcess, free_port
from tests.support.programs import require
from tests.support.redis_server import RedisServer

#: Where kube-state-metrics would be; not here (no cluster): `promtool test rules` covers them.
KUBE_STATE_METRICS = ("kube_deployment_status_replicas_available",)
SCRAPE_SECONDS = 1
TRAFFIC = ["/ndays", "/ndays?ndays=3", "/ndays?ndays=0", "/no/such/path", "/healthz", "/readyz"]
#: Bounds the background traffic, should a test hang: it stops by itself either way.
MAX_TRAFFIC_SECONDS = 120


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real service as a pod of the default layout runs it: two workers (so the sum is what
    is scraped) and a real redis-server as its shared store (Valkey's stand-in)."""
    store = RedisServer(tmp_path_factory.mktemp("redis"))
    store.start()
    try:
        with running_app(
            tmp_path_factory,
            "service",
            WEB_CONCURRENCY="2",
            LOG_LEVEL="WARNING",
            REDIS_URL=store.url,
        ) as url:
            yield url
    finally:
        store.close()


@pytest.fixture(scope="module")
def traffic(service: str) -> Iterator[None]:
    """A little steady traffic (about 50 requests a second) for as long as the module runs."""
    stop = threading.Event()

    def send() -> None:
        deadline = time.monotonic() + MAX_TRAFFIC_SECONDS
        i = 0
        while not stop.is_set() and time.monotonic() < deadline:
            get(f"{service}{TRAFFIC[i % len(TRAFFIC)]}")
            i += 1
            stop.wait(0.02)  # pacing the load, not waiting for a condition

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=10)


def scrape_config(service: str, tmp: Path) -> dict[str, Any]:
    """What the Operator generates from the PodMonitor, for one pod: the job from the pod label
    `jobLabel` names, the target labels it adds, the path it scrapes."""
    objs = objects(render("prometheus-operator"))
    monitor = find(objs, "PodMonitor", "stock-ticker")["spec"]
    deployment = find(objs, "Deployment", "stock-ticker")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    (endpoint,) = monitor["podMetricsEndpoints"]
    (rules := tmp / "alerts.yaml").write_text(yaml.safe_dump(rule_groups()))
    return {
        "global": {
            "scrape_interval": f"{SCRAPE_SECONDS}s",
            "scrape_timeout": f"{SCRAPE_SECONDS}s",
            "evaluation_interval": f"{SCRAPE_SECONDS}s",
        },
        "rule_files": [str(rules)],
        "scrape_configs": [
            {
                "job_name": pod_labels[monitor["jobLabel"]],
                "metrics_path": endpoint["path"],
                "static_configs": [
                    {
                        "targets": [service.removeprefix("http://")],
                        "labels": {
                            "namespace": deployment["metadata"]["namespace"],
                            "pod": "stock-ticker-5d8f9c7b6-abcde",
                            "container": "api",
                            "endpoint": endpoint["port"],
                        },
                    }
                ],
            }
        ],
    }


class Prometheus:
    def __init__(self, url: str) -> None:
        self.url = url

    def api(self, path: str, **params: str) -> Any:
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}?{query}", timeout=10) as resp:
            body = json.loads(resp.read())
        assert body["status"] == "success", body
        return body["data"]

    def query(self, promql: str) -> list[dict[str, Any]]:
        data = self.api("query", query=promql)
        assert data["resultType"] == "vector", (promql, data)
        result: list[dict[str, Any]] = data["result"]
        return result

    def wait_for(self, promql: str, what: str, timeout: float = 60) -> None:
        """Poll until `promql` returns data, failing after `timeout`."""
        deadline = time.monotonic() + timeout
        while not self.query(promql):
            assert time.monotonic() < deadline, f"Prometheus never saw {what} ({promql})"
            time.sleep(0.2)  # polling Prometheus's state, not hiding a race


@pytest.fixture(scope="module")
def prometheus(
    service: str, traffic: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Prometheus]:
    binary = require("prometheus", "/usr/bin/prometheus")
    tmp = tmp_path_factory.mktemp("prometheus")
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(scrape_config(service, tmp)))
    port = free_port()
    args = [
        binary,
        f"--config.file={tmp / 'prometheus.yml'}",
        f"--storage.tsdb.path={tmp / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    log = tmp / "prometheus.log"
    ready = HttpReady("/-/ready")
    env = dict(os.environ)
    with ServerProcess("prometheus", args, env, log, port, ready, cwd=ROOT, startup_timeout=30):
        prom = Prometheus(f"http://127.0.0.1:{port}")
        # Enough scrapes, with traffic between them, for rates over the panels' 15 s windows.
        prom.wait_for('count_over_time(up{job="stock-ticker"}[1m]) >= 8', "8 scrapes")
        prom.wait_for(
            'increase(http_requests_total{job="stock-ticker", route="/ndays"}[15s]) > 0',
            "requests in the last 15 s",
        )
        yield prom


def test_every_dashboard_query_returns_data(prometheus: Prometheus) -> None:
    for title, expr in panel_queries():
        assert prometheus.query(expr), f"panel {title!r} shows no data: {expr}"


def test_the_key_panels_show_sensible_values(prometheus: Prometheus) -> None:
    by_route = {
        (s["metric"]["route"], s["metric"]["status"]): float(s["value"][1])
        for s in prometheus.query(dict(panel_queries())["Requests per second by route and status"])
    }
    assert by_route[("/ndays", "200")] > 0
    assert by_route[("/ndays", "400")] > 0
    assert by_route[("unmatched", "404")] > 0
    (ratio,) = prometheus.query(dict(panel_queries())["Cache hit ratio"])
    assert 0.5 < float(ratio["value"][1]) <= 1, "warm after the first miss"
    (errors,) = prometheus.query(dict(panel_queries())["5xx ratio"])
    assert float(errors["value"][1]) == 0


@pytest.mark.parametrize("alert", [a["alert"] for a in alerts()])
def test_every_alert_signal_returns_data(prometheus: Prometheus, alert: str) -> None:
    (rule,) = [a for a in alerts() if a["alert"] == alert]
    measured = signal(rule["expr"])
    if any(name in measured for name in KUBE_STATE_METRICS):
        assert prometheus.query(measured) == [], "parses, and there is no kube-state-metrics here"
        return
    assert prometheus.query(measured), f"{alert} measures nothing: {measured}"


def test_prometheus_loads_and_evaluates_every_alert_and_none_fires(prometheus: Prometheus) -> None:
    names = {a["alert"] for a in alerts()}
    deadline = time.monotonic() + 30
    while True:
        rules = [r for g in prometheus.api("rules")["groups"] for r in g["rules"]]
        evaluated = {r["name"] for r in rules if not r["lastEvaluation"].startswith("0001")}
        if evaluated >= names:
            break
        assert time.monotonic() < deadline, f"never evaluated: {names - evaluated}"
        time.sleep(0.2)  # polling Prometheus's rule manager
    assert {r["name"] for r in rules} == names
    assert {r["name"]: r["health"] for r in rules} == dict.fromkeys(names, "ok")
    assert prometheus.api("alerts")["alerts"] == [], "a healthy service fires nothing"


def test_two_workers_look_like_one_process_whose_counters_never_reset(
    prometheus: Prometheus,
) -> None:
    """Before the supervisor summed its workers' metrics, each scrape reached one worker at
    random and Prometheus saw a counter reset at every switch."""
    for counter in ("http_requests_total", "process_cpu_seconds_total"):
        resets = prometheus.query(f'sum(resets({counter}{{job="stock-ticker"}}[1m]))')
        assert [float(r["value"][1]) for r in resets] == [0.0], counter
    scrapes = prometheus.query(
        'max(increase(http_requests_total{job="stock-ticker", route="/metrics"}[1m]))'
    )
    assert float(scrapes[0]["value"][1]) > 0, "the scrapes themselves are counted"


def test_promtool_finds_nothing_wrong_in_the_exposition(service: str) -> None:
    promtool = require("promtool", "/usr/bin/promtool")
    text = get(f"{service}/metrics").text
    proc = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
