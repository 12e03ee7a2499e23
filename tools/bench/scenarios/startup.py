"""Start-up: spawn to the first 200 from /healthz, service and baseline, over fresh starts."""

from __future__ import annotations

from bench.processes import Fleet
from bench.results import Startup


def startup(
    fleet: Fleet, upstream_url: str, baseline_body: int, samples: int, first: tuple[float, float]
) -> Startup:
    """The run's first starts (`first`: service, baseline), then `samples` fresh starts each."""
    service, baseline = [first[0]], [first[1]]
    for _ in range(samples):
        for server, values in (
            (fleet.service(upstream_url), service),
            (fleet.baseline(baseline_body), baseline),
        ):
            try:
                values.append(server.start())
            finally:
                server.stop()
    return Startup.of(service, baseline)
