"""Warm scenarios: the cached `/ndays`, with parameters, `/healthz` and `/metrics`, each with the
baseline load it is compared with."""

from __future__ import annotations

from bench.http_client import http_get
from bench.processes import ServerProcess
from bench.results import Primed
from bench.rounds import Measure
from bench.workload import SPREAD
from bench.wrk import Load

NDAYS = Load("ndays", "/ndays")
STATIC = Load("static", "/ndays")  # the baseline answers every path with the same body
SPREAD_LOAD = Load("spread", "/ndays", SPREAD)
HEALTHZ = Load("healthz", "/healthz")
METRICS = Load("metrics", "/metrics", connections=1)


def ndays_measures(service: ServerProcess, baseline: ServerProcess) -> list[Measure]:
    """Warm `/ndays` with its defaults and the single-path baseline: the headline ratio."""
    reference = Measure(baseline, STATIC, "baseline: fixed body, one path")
    return [reference, Measure(service, NDAYS, "warm /ndays (defaults)", reference.key)]


def healthz_measure(service: ServerProcess, reference: Measure) -> Measure:
    return Measure(service, HEALTHZ, "/healthz", reference.key)


def measures(service: ServerProcess, baseline: ServerProcess) -> list[Measure]:
    reference, ndays = ndays_measures(service, baseline)
    spread_reference = Measure(baseline, SPREAD_LOAD, "baseline: fixed body, spread paths")
    return [
        reference,
        ndays,
        spread_reference,
        Measure(
            service, SPREAD_LOAD, "warm /ndays, 10 symbols x varied ndays", spread_reference.key
        ),
        healthz_measure(service, reference),
        # One scraper at a time, as Prometheus does: p50 is what one scrape costs the event loop.
        Measure(service, METRICS, "/metrics scrape (1 connection)"),
    ]


def prime(service: ServerProcess) -> Primed:
    """Ask for every spread path once: fills the cache and checks that each answers 200."""
    states: dict[str, int] = {}
    for path in sorted(set(SPREAD)):
        answer = http_get(service.url + path, timeout=10)
        if answer.status != 200:
            raise RuntimeError(f"{path} answered {answer.status}: {answer.body[:300]!r}")
        state = answer.headers.get("x-cache", "?")
        states[state] = states.get(state, 0) + 1
    answer = http_get(service.url + "/ndays")
    if answer.status != 200 or answer.headers.get("x-cache") != "HIT":
        raise RuntimeError(f"/ndays after priming: {answer.status} {answer.headers}")
    return Primed(x_cache=states, ndays_body_bytes=len(answer.body))
