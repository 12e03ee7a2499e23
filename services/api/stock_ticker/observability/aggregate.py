"""Metrics that hold under `WEB_CONCURRENCY`: whichever worker is scraped answers for all of them.

Each worker has its own registry, and the kernel picks the worker that gets a scrape, so without
this every counter would seem to reset whenever the scrape landed elsewhere. prometheus-client's
multiprocess mode is not used: it keeps each value in a memory-mapped file behind a lock, which
would put back on every request the cost `RequestStats` exists to avoid, and it cannot carry
custom collectors (`RequestStats` itself) nor the process and GC metrics. Here a request pays
nothing: each worker serves its own exposition on a unix socket, and the worker that is scraped
reads its siblings' and adds them up, once per scrape.

Counters and histograms are sums; the set of workers is fixed for the supervisor's life (one
that dies stops them all), so no worker's count ever drops out of the sum. Gauges are summed
too (requests in progress, budget left, memory), except where a sum means nothing:
`process_start_time_seconds` is the earliest, `python_info` is 1, and the shared store is up only
if every worker reaches it. A sibling that does not
answer in full within `PEER_TIMEOUT_SECONDS` counts with the last exposition it gave, and the
miss is logged: a slow worker must not make a counter go back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

PEER_TIMEOUT_SECONDS = 2.0
#: Ends every exposition a worker sends, so a reader can tell a whole one from a cut-off one
#: (a comment line: the text format ignores it).
END = b"# EOF\n"
#: Gauges whose sum over processes means nothing, and how they combine instead.
_COMBINE: dict[str, Callable[[Iterable[float]], float]] = {
    "process_start_time_seconds": min,
    "python_info": max,
    # Up for the pod only if every worker reaches it.
    "stock_api_shared_store_up": min,
}

Labels = tuple[tuple[str, str], ...]


def merge(expositions: Iterable[str], *, deployment_wide: frozenset[str] = frozenset()) -> bytes:
    """Several processes' expositions as one, each series combined over the processes.
    `deployment_wide` gauges count something every worker shares (the budget in the shared
    store, with REDIS_URL): each worker reports the whole, so the least of them is shown."""
    families: dict[str, Metric] = {}
    seen: dict[tuple[str, str, Labels], list[float]] = {}
    for text in expositions:
        for family in text_string_to_metric_families(text):
            if family.name not in families:
                families[family.name] = Metric(family.name, family.documentation, family.type)
            for sample in family.samples:
                key = (family.name, sample.name, tuple(sorted(sample.labels.items())))
                seen.setdefault(key, []).append(sample.value)
    for (family_name, name, labels), values in seen.items():
        combine = min if name in deployment_wide else _COMBINE.get(name, sum)
        families[family_name].add_sample(name, dict(labels), combine(values))
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(families.values()))
    return generate_latest(registry)


class _Families(Collector):
    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterator[Metric]:
        return iter(self._families)


class WorkerMetrics:
    """One worker's part: its own exposition served to its siblings, theirs added to a scrape."""

    def __init__(
        self,
        own: Callable[[], bytes],
        listen: Path,
        siblings: Iterable[Path],
        *,
        timeout: float = PEER_TIMEOUT_SECONDS,
        deployment_wide: frozenset[str] = frozenset(),
    ) -> None:
        self._own = own
        self._deployment_wide = deployment_wide
        self._listen = listen
        self._siblings = tuple(siblings)
        self._timeout = timeout
        self._last: dict[Path, str] = {}
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Listen for siblings; before the worker takes requests, so none is ever unreadable
        while it counts."""
        self._server = await asyncio.start_unix_server(self._send, path=self._listen)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def render(self) -> bytes:
        """The sum of this worker's metrics and every sibling's."""
        theirs = await asyncio.gather(*(self._read(path) for path in self._siblings))
        own = self._own().decode()
        expositions = [own, *(text for text in theirs if text is not None)]
        return merge(expositions, deployment_wide=self._deployment_wide)

    async def _send(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):  # the reader gave up: nothing to do
            writer.write(self._own() + END)
            await writer.drain()
        writer.close()

    async def _read(self, path: Path) -> str | None:
        try:
            async with asyncio.timeout(self._timeout):
                reader, writer = await asyncio.open_unix_connection(path)
                try:
                    data = await reader.read()
                finally:
                    writer.close()
            if not data.endswith(END):
                raise ConnectionError("cut off")
        except (OSError, TimeoutError) as exc:
            log.warning(
                "worker metrics unreadable; counting its last",
                extra={"socket": path.name, "error": repr(exc)},
            )
            return self._last.get(path)
        self._last[path] = text = data.decode()
        return text
