"""Issue 12: warm `/ndays` asked conditionally, If-None-Match set to its current ETag (a 304).

Measured in the same rounds as the plain warm 200 and the baseline, so the three figures are
comparable. Judged (judging.py): the 200's ratio to the baseline must not drop below the last
recorded report's (docs/benchmarks.json, read before this run rewrites it, and shown as
context), and a 304 must cost no more CPU per request than a 200.
"""

from __future__ import annotations

from pathlib import Path

from bench.codec import load_report
from bench.console import say
from bench.http_client import http_get
from bench.paths import REPO
from bench.processes import ServerProcess
from bench.results import ConditionalCheck, RecordedRatio
from bench.rounds import Measure
from bench.scenarios.warm import ndays_measures
from bench.wrk import Load

PATH = "/ndays"
NOT_MODIFIED = "ndays-304"  # the load's key: its row is "service:ndays-304"


def current_etag(service: ServerProcess) -> str:
    answer = http_get(service.url + PATH)
    etag = answer.headers.get("etag")
    if answer.status != 200 or not etag:
        raise RuntimeError(f"{PATH}: {answer.status} with ETag {etag!r}; a 200 with one expected")
    return etag


def measures(service: ServerProcess, baseline: ServerProcess, etag: str) -> list[Measure]:
    reference, ndays = ndays_measures(service, baseline)
    return [reference, ndays, not_modified_measure(service, reference, etag)]


def not_modified_measure(service: ServerProcess, reference: Measure, etag: str) -> Measure:
    conditional = Load(NOT_MODIFIED, PATH, headers=(f"If-None-Match: {etag}",))
    title = "warm /ndays, If-None-Match: its ETag (304)"
    return Measure(service, conditional, title, reference.key)


def check(service: ServerProcess, etag: str, when: str) -> ConditionalCheck:
    """One conditional request outside the rounds: what every request of the load got."""
    answer = http_get(service.url + PATH, headers={"If-None-Match": etag})
    return ConditionalCheck(
        when=when,
        status=answer.status,
        etag=answer.headers.get("etag"),
        x_cache=answer.headers.get("x-cache"),
        body_bytes=len(answer.body),
    )


def recorded(path: Path) -> RecordedRatio | None:
    """Warm `/ndays` as the report recorded at `path` has it; None when there is none to read."""
    if not path.is_file():
        return None
    try:
        report = load_report(path.read_text())
    except ValueError as exc:
        say(f"{path} is not a report this bench reads ({exc}): no recorded figure to compare with")
        return None
    row = (report.warm or {}).get("service:ndays")
    if row is None or row.rps_ratio is None:
        return None
    return RecordedRatio(
        path=str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path),
        date=report.date,
        commit=report.machine.service_commit or report.machine.commit,
        quick=report.options.quick,
        rps_ratio=row.rps_ratio,
        cpu_us_per_request=row.cpu_us_per_request,
    )
