"""What a run measured, as typed records.

The scenarios return them, judging and the report read them, and docs/benchmarks.json is their
JSON: field names are its keys, so a report saved by an earlier run (`--before`, the recorded
figure the conditional scenario compares with) reads back into the same types (codec.py).
Aggregates (a stampede's worst round, ...) are stored beside the rounds because the JSON has
always carried them; each is computed in one place, the `of` constructor.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.options import Options
from bench.stats import median


@dataclass(frozen=True)
class LoadAverage:
    """1, 5 and 15-minute load averages around a run or a scenario: how quiet the machine was."""

    before: tuple[float, float, float]
    after: tuple[float, float, float]


@dataclass(frozen=True)
class Machine:
    nproc: int | None
    cpu: str
    kernel: str
    python: str
    packages: dict[str, str | None]
    wrk: str
    commit: str
    dirty_paths: list[str]
    # --service-src: the service's code came from there (its checkout's commit)
    service_src: str | None = None
    service_commit: str | None = None
    service_dirty_paths: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Target:
    what: str
    figure: str
    met: bool | None  # None: not judged in this run (`figure` says why)

    @property
    def verdict(self) -> str:
        return {True: "met", False: "**NOT met**", None: "not judged"}[self.met]


# Warm rounds (wrk) ----------------------------------------------------------------------------


@dataclass(frozen=True)
class WrkErrors:
    connect: int
    read: int
    write: int
    status: int  # answers with a status of 400 or more
    timeout: int


@dataclass(frozen=True)
class LatencyUs:
    min: int
    p50: int
    p90: int
    p99: int
    p999: int
    max: int
    mean: float
    stdev: float


@dataclass(frozen=True)
class WrkOutput:
    """What wrk.lua's done() hook prints."""

    requests: int
    duration_us: int
    bytes: int
    errors: WrkErrors
    latency_us: LatencyUs


@dataclass(frozen=True)
class WrkResult(WrkOutput):
    rps: float
    error_count: int
    bytes_per_response: float


@dataclass(frozen=True)
class RoundRun(WrkResult):
    """One wrk run of the warm rounds, with what the server process spent on it."""

    cpu_us_per_request: float
    cpu_share: float  # CPU time over wall time: 1.0 is one core
    rss_mib: float
    round: int


@dataclass(frozen=True)
class WarmRow:
    """Medians over rounds of one load against one server; ratios to the row it is compared
    with (`baseline`, a key of the same table) are medians of the per-round ratios."""

    title: str
    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    requests: int
    rss_mib: float
    cpu_us_per_request: float
    cpu_share: float
    bytes_per_response: float
    baseline: str | None = None
    rps_ratio: float | None = None
    p99_ratio: float | None = None
    cpu_ratio: float | None = None


@dataclass(frozen=True)
class Primed:
    x_cache: dict[str, int]
    ndays_body_bytes: int


# Memory soak ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SoakSample:
    requests: int
    rss_mib: float


@dataclass(frozen=True)
class Soak:
    requests: int
    rss_after_warmup_mib: float
    rss_after_soak_mib: float
    growth: float
    samples: list[SoakSample]

    @classmethod
    def of(cls, samples: list[SoakSample]) -> Soak:
        first, last = samples[0], samples[-1]
        return cls(
            requests=last.requests,
            rss_after_warmup_mib=first.rss_mib,
            rss_after_soak_mib=last.rss_mib,
            growth=last.rss_mib / first.rss_mib - 1,
            samples=samples,
        )


# Cold stampede -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StampedeRound:
    symbol: str
    clients: int
    upstream_calls: int
    non_200: int
    x_cache: dict[str, int]
    upstream_own_ms: float
    fastest_ms: float
    median_ms: float
    slowest_ms: float
    slowest_over_upstream_ms: float
    service_logged: int
    service_slowest_ms: float
    service_slowest_over_upstream_ms: float


@dataclass(frozen=True)
class Stampede:
    rounds: list[StampedeRound]
    max_upstream_calls: int
    non_200: int
    slowest_ms_median: float
    slowest_ms_max: float
    slowest_over_upstream_ms_median: float
    slowest_over_upstream_ms_max: float
    service_slowest_over_upstream_ms_max: float
    upstream_own_ms_median: float

    @classmethod
    def of(cls, rounds: list[StampedeRound]) -> Stampede:
        return cls(
            rounds=rounds,
            max_upstream_calls=max(r.upstream_calls for r in rounds),
            non_200=sum(r.non_200 for r in rounds),
            slowest_ms_median=median([r.slowest_ms for r in rounds]),
            slowest_ms_max=max(r.slowest_ms for r in rounds),
            slowest_over_upstream_ms_median=median([r.slowest_over_upstream_ms for r in rounds]),
            slowest_over_upstream_ms_max=max(r.slowest_over_upstream_ms for r in rounds),
            service_slowest_over_upstream_ms_max=max(
                r.service_slowest_over_upstream_ms for r in rounds
            ),
            upstream_own_ms_median=median([r.upstream_own_ms for r in rounds]),
        )


# Start-up ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Startup:
    service_median_s: float
    service_max_s: float
    baseline_median_s: float
    baseline_max_s: float
    samples: dict[str, list[float]]  # "service", "baseline": spawn-to-ready seconds

    @classmethod
    def of(cls, service: list[float], baseline: list[float]) -> Startup:
        return cls(
            service_median_s=median(service),
            service_max_s=max(service),
            baseline_median_s=median(baseline),
            baseline_max_s=max(baseline),
            samples={"service": service, "baseline": baseline},
        )


# Issue 9: failing upstream -------------------------------------------------------------------


@dataclass(frozen=True)
class NextRequest:
    """The request sent once the failing refresh is over: it should meet the symbol's rest."""

    sent_after_answers_s: float
    seconds: float
    status: int
    x_cache: str
    upstream_calls: int


@dataclass(frozen=True)
class FailureCase:
    upstream: str  # the fake upstream's mode: "500" or "hang"
    symbol: str
    clients: int
    first_s: float
    median_s: float
    slowest_s: float
    statuses: dict[str, int]
    x_cache: dict[str, int]
    all_200_stale: bool
    upstream_calls: int
    refresh_ended: bool
    refresh_seconds: float | None
    next: NextRequest


@dataclass(frozen=True)
class Failure:
    cases: list[FailureCase]
    slowest_s_max: float
    max_upstream_calls: int
    all_200_stale: bool
    next_seconds_max: float
    load_average: LoadAverage

    @classmethod
    def of(cls, cases: list[FailureCase], load_average: LoadAverage) -> Failure:
        return cls(
            cases=cases,
            slowest_s_max=max(c.slowest_s for c in cases),
            max_upstream_calls=max(c.upstream_calls for c in cases),
            all_200_stale=all(c.all_200_stale for c in cases),
            next_seconds_max=max(c.next.seconds for c in cases),
            load_average=load_average,
        )


# Issue 9: abandoned clients ------------------------------------------------------------------


@dataclass(frozen=True)
class ImpatientLoad:
    """What the impatient clients of one run did and got."""

    launched: int
    launch_seconds: float
    achieved_rate: float
    connected: int
    connected_rate: float
    launch_lateness_ms_p99: float
    launch_lateness_ms_max: float
    client_cpu_share: float
    gave_up_connecting: int
    connect_errors: int
    abandoned: int
    closed_by_service: int
    answers: int
    answer_statuses: dict[str, int]  # "<status> <X-Cache>": count
    answer_ms_median: float | None
    answer_ms_max: float | None
    unfinished_connects: int


@dataclass(frozen=True)
class AbandonedRun:
    symbol: str
    kind: str  # "cold" or "stale"
    load: ImpatientLoad
    load_seconds: float
    service_cpu_share: float
    settled_after_s: float | None
    upstream_calls: int
    rss_before_mib: float
    rss_peak_mib: float
    rss_after_mib: float
    rss_growth_mib: float
    rss_samples: int
    healthz_probes: int
    healthz_failed: int
    healthz_skipped_ticks: int | None
    healthz_ms_p50: float
    healthz_ms_p99: float
    healthz_ms_max: float
    healthz_idle_ms_p50: float
    waiting_peak: float | None  # None: the service does not expose the waiting gauge
    waiting_samples: int
    overflow_total: float | None
    # Timelines, in seconds from the start of the load: where the slow probes fell
    healthz_slow_probes: list[tuple[float, float]]
    rss_mib_per_second: list[tuple[float, float]]
    waiting_timeline: list[tuple[float, float]]


@dataclass(frozen=True)
class Abandoned:
    runs: dict[str, AbandonedRun]
    seconds: int
    rate: int
    patience_s: float
    load_average: LoadAverage


# Issue 12: conditional requests --------------------------------------------------------------


@dataclass(frozen=True)
class ConditionalCheck:
    """One request with If-None-Match, outside the measured rounds: what the rounds asked."""

    when: str
    status: int
    etag: str | None
    x_cache: str | None
    body_bytes: int


@dataclass(frozen=True)
class RecordedRatio:
    """The warm /ndays figures of the last recorded report: context for this run's."""

    path: str
    date: str
    commit: str
    quick: bool
    rps_ratio: float
    cpu_us_per_request: float


@dataclass(frozen=True)
class Conditional:
    path: str
    etag: str
    checks: list[ConditionalCheck]
    recorded: RecordedRatio | None


# Issue 11: the shared store (REDIS_URL) -----------------------------------------------------


@dataclass(frozen=True)
class SharedWarm:
    """Warm `/ndays` on a service with REDIS_URL set, measured in the warm rounds: its figures
    are the warm table's row `row`, compared with the in-process service's `compared_with`.
    The rest is counted from before the warm-up to after the rounds."""

    row: str
    compared_with: str
    x_cache_before: str | None  # one request outside the rounds, before and after them
    x_cache_after: str | None
    redis_commands: dict[str, int]  # what the redis-server ran (INFO commandstats, INFO left out)
    upstream_calls: int
    #: The row of the in-process twin (the in-process service again, another process), also
    #: compared with `compared_with`; None in reports from before it was measured.
    twin: str | None = None

    def mode_ratio(self, warm: dict[str, WarmRow]) -> float:
        """`row`'s req/s against the in-process mode: the mean of the in-process service and its
        twin (both ratios to the first, 1 and the twin's), or the first alone without a twin."""
        ratio = warm[self.row].rps_ratio
        assert ratio is not None
        if self.twin is None:
            return ratio
        twin = warm[self.twin].rps_ratio
        assert twin is not None
        return ratio / ((1 + twin) / 2)

    @property
    def redis_command_count(self) -> int:
        return sum(self.redis_commands.values())

    @property
    def redis_commands_text(self) -> str:
        """`0`, or the count and the commands: `3 (get 2, mget 1)`."""
        listed = listed_commands(self.redis_commands)
        return f"{self.redis_command_count}" + (f" ({listed})" if listed else "")


def listed_commands(commands: dict[str, int]) -> str:
    """`get 2, mget 1`: Redis commands and their calls."""
    return ", ".join(f"{name} {calls}" for name, calls in commands.items())


@dataclass(frozen=True)
class SharedPriming:
    """The warm-up of the processes sharing the store before their stampede: first a cold
    symbol of each one's own (`own_`: a MISS and an upstream call each), then `/ndays` on each
    in turn, which the entry the warm service wrote should answer with no upstream call."""

    x_cache: list[str | None]
    upstream_calls: int
    own_x_cache: list[str | None] = field(default_factory=list)
    own_upstream_calls: int = 0


@dataclass(frozen=True)
class StoreActivity:
    """What the redis-server saw of one stampede round across the processes, and how often
    they logged it unreachable (each such warning: a process fell back to its own refresh)."""

    symbol: str
    commands: dict[str, int]
    connections: int  # new connections the server accepted
    store_down_logged: int

    @property
    def command_count(self) -> int:
        return sum(self.commands.values())


@dataclass(frozen=True)
class SharedStore:
    """Issue 11's scenarios on one redis-server of the run's own; `skipped` says why there are
    no figures (no redis-server on this machine)."""

    server: str = ""  # "redis 7.0.15"
    skipped: str | None = None
    warm: SharedWarm | None = None
    services: int = 0  # service processes sharing the store in the stampede
    primed: SharedPriming | None = None
    stampede: Stampede | None = None
    stampede_store: list[StoreActivity] = field(default_factory=list)  # per round
    load_average: LoadAverage | None = None  # around the stampede across the processes


# --compare-src: the code of another checkout in the same warm rounds -------------------------


@dataclass(frozen=True)
class ComparedLoad:
    """One load on this run's code (`current`, a key of the warm table) and on the older code
    (`older`), in the same rounds; each ratio current ÷ older is the median of per-round ratios."""

    current: str
    older: str
    rps_ratio: float
    p99_ratio: float
    cpu_ratio: float
    rss_ratio: float


@dataclass(frozen=True)
class OlderCode:
    """`--compare-src`: the service's code at `src` (its checkout's commit, None outside git),
    run as a second service process; `not_measured` names the loads left out, and why."""

    src: str
    commit: str | None = None
    dirty_paths: list[str] = field(default_factory=list)
    startup_s: float | None = None
    loads: list[ComparedLoad] = field(default_factory=list)
    not_measured: dict[str, str] = field(default_factory=dict)  # load key: why


# The whole run -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Before:
    """The parts of a saved report (`--before`) that the before → after table shows."""

    date: str
    command: str
    machine: Machine
    options: Options
    path: str
    failure: Failure | None = None
    abandoned: Abandoned | None = None


@dataclass(frozen=True)
class Report:
    date: str
    command: str
    options: Options
    machine: Machine
    load_average: LoadAverage
    primed: Primed | None = None
    warm: dict[str, WarmRow] | None = None
    warm_upstream_calls: int | None = None
    memory: Soak | None = None
    rss_end_mib: float | None = None
    baseline_rss_mib: float | None = None
    stampede: Stampede | None = None
    startup: Startup | None = None
    failure: Failure | None = None
    abandoned: Abandoned | None = None
    conditional: Conditional | None = None
    shared_store: SharedStore | None = None
    older: OlderCode | None = None  # --compare-src
    runs: dict[str, list[RoundRun]] | None = None
    before: Before | None = None
    targets: list[Target] = field(default_factory=list)  # issue 5
    targets_issue9: list[Target] = field(default_factory=list)
    targets_issue12: list[Target] = field(default_factory=list)
    targets_issue11: list[Target] = field(default_factory=list)
