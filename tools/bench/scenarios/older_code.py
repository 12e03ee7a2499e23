"""`--compare-src DIR`: the service's code at DIR (another checkout's services/api, a `git worktree`
of an older commit, say) measured in the same warm rounds as this run's code.

The older code runs as a second service process, as the redis scenario's does
(scenarios/shared_store.py): the same configuration and fake upstream, DIR ahead of the install on
PYTHONPATH as --service-src puts it, primed the same way (every spread path once). Its warm
`/ndays` (defaults), `/healthz` and, when its code answers If-None-Match with a 304, the
conditional load are measures of the warm plan, each next to this code's same load and, as that
one is, compared with the baseline (rounds.py). After the rounds each pair's runs are paired by
round: the ratios current ÷ older, medians of per-round ratios, are what a regression claim rests
on, both sides having seen the same machine at the same moments.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from bench.console import say
from bench.http_client import http_get
from bench.machine import checkout
from bench.paths import shown
from bench.processes import Fleet, ServerProcess
from bench.results import ComparedLoad, OlderCode, RoundRun
from bench.rounds import CPU, P99, RPS, RSS, Measure, median_ratio, same_rounds
from bench.scenarios import conditional
from bench.scenarios.warm import NDAYS, healthz_measure, ndays_measures, prime

SERVICE_NAME = "older"  # its rows in the warm table: "older:ndays", ...
TITLE_PREFIX = "older code: "


def _not_modified_etag(service: ServerProcess) -> tuple[str | None, str | None]:
    """The ETag the older code answers If-None-Match with a 304 for, or why there is none."""
    etag = http_get(service.url + NDAYS.path).headers.get("etag")
    if not etag:
        return None, "its code sends no ETag"
    status = conditional.check(service, etag, "before the rounds").status
    if status != 304:
        return None, f"its code answers If-None-Match: its ETag with {status}"
    return etag, None


@dataclass
class OlderService:
    """The service's code at `src`, started and primed."""

    src: Path
    service: ServerProcess
    startup_s: float
    etag: str | None  # for the 304 load; None: not measured (`not_measured` says why)
    not_measured: dict[str, str]
    pairs: list[tuple[str, str]] = field(default_factory=list)  # (current, older) keys

    @classmethod
    def start(cls, fleet: Fleet, upstream_url: str, src: Path) -> OlderService:
        service = fleet.service(upstream_url, name=SERVICE_NAME, src=src)
        startup_s = service.start()
        primed = prime(service)
        etag, why = _not_modified_etag(service)
        not_measured = {} if why is None else {conditional.NOT_MODIFIED: why}
        say(
            f"{service.name} (code at {src}) ready in {startup_s:.2f} s; 7-day body "
            f"{primed.ndays_body_bytes} B" + ("" if why is None else f"; no 304 load: {why}")
        )
        return cls(src, service, startup_s, etag, not_measured)

    def measures(self, service: ServerProcess, baseline: ServerProcess) -> list[Measure]:
        """Each load on this run's code, then the same load on the older code, next to each
        other in every round; all compared with the baseline, as the warm scenario's are."""
        reference, ndays = ndays_measures(service, baseline)
        _, older_ndays = ndays_measures(self.service, baseline)
        current = [ndays, healthz_measure(service, reference)]
        older = [older_ndays, healthz_measure(self.service, reference)]
        if self.etag is not None:
            etag = conditional.current_etag(service)
            current.append(conditional.not_modified_measure(service, reference, etag))
            older.append(conditional.not_modified_measure(self.service, reference, self.etag))
        older = [replace(m, title=TITLE_PREFIX + m.title) for m in older]
        self.pairs = [(c.key, o.key) for c, o in zip(current, older, strict=True)]
        return [reference, *(m for pair in zip(current, older, strict=True) for m in pair)]

    def compared(self, runs: dict[str, list[RoundRun]]) -> OlderCode:
        """After the rounds: each load's ratios current ÷ older, paired by round."""
        loads = []
        for current, older in self.pairs:
            pairs = same_rounds(runs, current, older)
            load = ComparedLoad(
                current=current,
                older=older,
                rps_ratio=median_ratio(pairs, RPS),
                p99_ratio=median_ratio(pairs, P99),
                cpu_ratio=median_ratio(pairs, CPU),
                rss_ratio=median_ratio(pairs, RSS),
            )
            loads.append(load)
            say(
                f"current ÷ older code, {older}: req/s {load.rps_ratio:.2f}x, p99 "
                f"{load.p99_ratio:.2f}x, CPU/req {load.cpu_ratio:.2f}x, RSS {load.rss_ratio:.2f}x"
            )
        commit, dirty = checkout(self.src)
        return OlderCode(
            src=shown(self.src),
            commit=commit,
            dirty_paths=dirty,
            startup_s=self.startup_s,
            loads=loads,
            not_measured=self.not_measured,
        )
