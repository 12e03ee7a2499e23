"""Memory soak: the service's VmRSS after warm-up, then along a million warm spread requests."""

from __future__ import annotations

from bench.console import say
from bench.options import Options
from bench.processes import ServerProcess
from bench.results import Soak, SoakSample
from bench.workload import SPREAD
from bench.wrk import Load, Wrk

MAX_CHUNKS = 1000  # a bound, far above what any sane rate needs


def soak(wrk: Wrk, service: ServerProcess, options: Options) -> Soak:
    """RSS sampled after each `soak_chunk` seconds of load until `soak_requests` were served."""
    samples = [SoakSample(requests=0, rss_mib=service.rss_mib())]
    served = 0
    while served < options.soak_requests and len(samples) <= MAX_CHUNKS:
        result = wrk.run(service.url, Load("soak", "/ndays", SPREAD), options.soak_chunk)
        served += result.requests
        if result.error_count:
            raise RuntimeError(f"soak: {result.error_count} errors: {result.errors}")
        samples.append(SoakSample(requests=served, rss_mib=service.rss_mib()))
        say(f"soak: {served:,} requests, RSS {samples[-1].rss_mib:.1f} MiB")
    return Soak.of(samples)
