"""The warm rounds' summary: medians over rounds, ratios to the measure compared with."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from bench.paths import REPO, shown
from bench.processes import HttpReady, ServerProcess
from bench.results import LatencyUs, RoundRun, WrkErrors
from bench.rounds import Measure, deduplicated, summarise
from bench.scenarios.older_code import OlderService
from bench.wrk import Load


def server(name: str) -> ServerProcess:
    return ServerProcess(name, [], {}, Path("/dev/null"), 1, HttpReady("/"), signal.SIGINT)


def run(rps: float, p99_us: int, cpu: float, round_no: int) -> RoundRun:
    latency = LatencyUs(1, 100, 200, p99_us, p99_us, p99_us, 150.0, 10.0)
    return RoundRun(
        requests=int(rps * 10),
        duration_us=10_000_000,
        bytes=int(rps * 10) * 1000,
        errors=WrkErrors(0, 0, 0, 0, 0),
        latency_us=latency,
        rps=rps,
        error_count=0,
        bytes_per_response=1000.0,
        cpu_us_per_request=cpu,
        cpu_share=1.0,
        rss_mib=40.0,
        round=round_no,
    )


SERVICE, BASELINE = server("service"), server("baseline")
REFERENCE = Measure(BASELINE, Load("static", "/"), "baseline")
NDAYS = Measure(SERVICE, Load("ndays", "/ndays"), "ndays", REFERENCE.key)


def test_ratios_are_medians_of_same_round_ratios() -> None:
    runs = {
        "baseline:static": [
            run(100.0, 1000, 20.0, 0),
            run(50.0, 2000, 20.0, 1),
            run(100.0, 1000, 20.0, 2),
        ],
        "service:ndays": [
            run(60.0, 2000, 40.0, 0),
            run(40.0, 3000, 30.0, 1),
            run(50.0, 2000, 40.0, 2),
        ],
    }
    rows = summarise([NDAYS, REFERENCE], runs)
    assert list(rows) == ["baseline:static", "service:ndays"]  # what others compare with first
    ndays = rows["service:ndays"]
    assert ndays.rps == 50.0  # median of the service's own figures
    assert ndays.rps_ratio == 0.6  # median of 0.6, 0.8, 0.5: not 50 / 100
    assert ndays.p99_ratio == 2.0
    assert ndays.cpu_ratio == 2.0
    assert ndays.baseline == "baseline:static"
    assert rows["baseline:static"].rps_ratio is None


def test_a_plan_has_each_measure_once_and_what_it_is_compared_with() -> None:
    assert deduplicated([REFERENCE, NDAYS, REFERENCE, NDAYS]) == [REFERENCE, NDAYS]
    with pytest.raises(ValueError, match=r"not in the plan: \['baseline:static'\]"):
        deduplicated([NDAYS])


def test_the_older_code_is_measured_next_to_this_code_and_compared_by_round(
    tmp_path: Path,
) -> None:
    older = OlderService(tmp_path, server("older"), 0.4, None, {"ndays-304": "no ETag"})
    plan = older.measures(SERVICE, BASELINE)
    assert [m.key for m in plan] == [
        "baseline:static",
        "service:ndays",
        "older:ndays",
        "service:healthz",
        "older:healthz",
    ]
    assert {m.compare_with for m in plan[1:]} == {"baseline:static"}  # each code x baseline
    assert plan[2].title == "older code: warm /ndays (defaults)"
    assert deduplicated([*plan, NDAYS]) == plan
    runs = {
        "service:ndays": [run(60.0, 2000, 40.0, 0), run(45.0, 3000, 40.0, 1)],
        "older:ndays": [run(80.0, 1000, 32.0, 0), run(50.0, 1000, 20.0, 1)],
        "service:healthz": [run(90.0, 1000, 10.0, 0), run(90.0, 1000, 10.0, 1)],
        "older:healthz": [run(90.0, 1000, 10.0, 0), run(90.0, 1000, 10.0, 1)],
    }
    compared = older.compared(runs)
    assert (compared.src, compared.commit, compared.startup_s) == (str(tmp_path), None, 0.4)
    assert compared.not_measured == {"ndays-304": "no ETag"}
    ndays, healthz = compared.loads
    assert (ndays.current, ndays.older) == ("service:ndays", "older:ndays")
    assert ndays.rps_ratio == pytest.approx((0.75 + 0.9) / 2)  # current ÷ older, by round
    assert ndays.p99_ratio == 2.5
    assert ndays.cpu_ratio == pytest.approx((1.25 + 2.0) / 2)
    assert ndays.rss_ratio == 1.0
    assert (healthz.rps_ratio, healthz.cpu_ratio) == (1.0, 1.0)


def test_the_older_code_is_named_relative_to_the_repository_when_inside_it(
    tmp_path: Path,
) -> None:
    assert shown(REPO / ".older" / "services" / "api") == ".older/services/api"
    assert shown(tmp_path) == str(tmp_path)  # elsewhere: as given
