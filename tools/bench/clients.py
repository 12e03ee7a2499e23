"""The bench's own raw HTTP/1.1 clients, for loads wrk cannot make.

`burst`: many clients on open keep-alive connections send one request at the same instant (the
cold stampede, the failing upstream). `impatient`: a steady rate of new clients that each send
one request and close the connection if no answer came in time (abandoned clients).

They measure the service, so they do as little as they can per answer: no HTTP client library,
just asyncio protocols on uvloop (when installed) that note the first byte of the answer and look
at its status and X-Cache.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.results import ImpatientLoad
from bench.stats import median


def client_loop() -> Callable[[], asyncio.AbstractEventLoop]:
    """uvloop when installed, so the client is as quick as it can be."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop
    return uvloop.new_event_loop


def _status_and_cache(head: bytes) -> tuple[int, str]:
    """Status code and X-Cache ("?" when absent) of an answer's head."""
    lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    cache = "?"
    for line in lines[1:]:
        name, _, value = line.partition(": ")
        if name.lower() == "x-cache":
            cache = value
    return int(lines[0].split()[1]), cache


def _request(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()


@dataclass(frozen=True)
class BurstAnswers:
    latencies: list[float]  # seconds from just before the first request was written
    statuses: list[int]
    x_cache: dict[str, int]


class _OneRequest(asyncio.Protocol):
    """A connection that notes when its answer arrives, and little else."""

    def __init__(self) -> None:
        self.first_byte: float | None = None
        self.head = b""
        self.done = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        if self.first_byte is None:
            self.first_byte = time.perf_counter()
        self.head += data
        if b"\r\n\r\n" in self.head and not self.done.done():
            self.done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_exception(exc or ConnectionError("closed before an answer"))


async def _burst(ports: Sequence[int], path: str, clients: int, timeout: float) -> BurstAnswers:
    loop = asyncio.get_running_loop()
    connections = await asyncio.gather(
        *(
            loop.create_connection(_OneRequest, "127.0.0.1", ports[i % len(ports)])
            for i in range(clients)
        )
    )
    await asyncio.sleep(0.3)  # let the servers accept them all before the clock starts
    request = _request(path)
    started = time.perf_counter()
    for transport, _ in connections:
        transport.write(request)
    try:
        await asyncio.wait_for(asyncio.gather(*(c.done for _, c in connections)), timeout=timeout)
    finally:
        for transport, _ in connections:
            transport.close()
    latencies: list[float] = []
    statuses: list[int] = []
    states: dict[str, int] = {}
    for _, client in connections:
        assert client.first_byte is not None
        latencies.append(client.first_byte - started)
        status, state = _status_and_cache(client.head)
        statuses.append(status)
        states[state] = states.get(state, 0) + 1
    return BurstAnswers(latencies, statuses, states)


def burst(ports: Sequence[int], path: str, clients: int, timeout: float = 30.0) -> BurstAnswers:
    """Open `clients` connections, spread over `ports` in turn, then send every request at once."""
    with asyncio.Runner(loop_factory=client_loop()) as runner:
        return runner.run(_burst(ports, path, clients, timeout))


@dataclass
class _Tally:
    """What the impatient clients of one run got."""

    connected: int = 0
    gave_up_connecting: int = 0
    connect_errors: int = 0
    abandoned: int = 0
    closed_by_service: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    answer_seconds: list[float] = field(default_factory=list)


class _Impatient(asyncio.Protocol):
    """Sends one request and closes the connection if no answer came in time."""

    def __init__(self, tally: _Tally, request: bytes, started: float) -> None:
        self.tally, self.request, self.started = tally, request, started
        self.transport: Any = None  # uvloop's transports are not asyncio.Transport instances
        self.head = b""
        self.finished = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        if self.finished:
            return
        self.head += data
        if b"\r\n\r\n" not in self.head:
            return
        self.finished = True
        status, cache = _status_and_cache(self.head)
        answer = f"{status} {cache}"
        self.tally.statuses[answer] = self.tally.statuses.get(answer, 0) + 1
        self.tally.answer_seconds.append(time.perf_counter() - self.started)
        self.transport.close()

    def give_up(self) -> None:
        if not self.finished:
            self.finished = True
            self.tally.abandoned += 1
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.finished:
            self.finished = True
            self.tally.closed_by_service += 1


async def _one_impatient(port: int, request: bytes, patience: float, tally: _Tally) -> None:
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    try:
        _, client = await asyncio.wait_for(
            loop.create_connection(lambda: _Impatient(tally, request, started), "127.0.0.1", port),
            timeout=patience,
        )
    except TimeoutError:
        tally.gave_up_connecting += 1
        return
    except OSError:
        tally.connect_errors += 1
        return
    tally.connected += 1
    loop.call_later(max(0.0, started + patience - time.perf_counter()), client.give_up)


async def _impatient(
    port: int, path: str, rate: int, seconds: int, patience: float
) -> ImpatientLoad:
    loop = asyncio.get_running_loop()
    request = _request(path)
    tally = _Tally()
    tasks: set[asyncio.Task[None]] = set()
    total, launched, lateness = rate * seconds, 0, []
    cpu_before = time.process_time()
    started = time.perf_counter()
    last_launch = started
    while launched < total:
        now = time.perf_counter()
        due = min(total, int((now - started) * rate) + 1)
        if due > launched:
            lateness.append(now - (started + launched / rate))
            last_launch = now
        while launched < due:
            task = loop.create_task(_one_impatient(port, request, patience, tally))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            launched += 1
        await asyncio.sleep(0.005)
    launch_seconds = max(last_launch - started, 1e-9)
    await asyncio.sleep(patience + 0.1)  # the last clients give up
    if tasks:
        await asyncio.wait(tasks, timeout=patience + 1)
    cpu = time.process_time() - cpu_before
    wall = time.perf_counter() - started
    lateness.sort()
    answers = sorted(tally.answer_seconds)
    return ImpatientLoad(
        launched=launched,
        launch_seconds=launch_seconds,
        achieved_rate=launched / launch_seconds,
        connected=tally.connected,
        connected_rate=tally.connected / launch_seconds,
        launch_lateness_ms_p99=lateness[int(0.99 * (len(lateness) - 1))] * 1000,
        launch_lateness_ms_max=lateness[-1] * 1000,
        client_cpu_share=cpu / wall,
        gave_up_connecting=tally.gave_up_connecting,
        connect_errors=tally.connect_errors,
        abandoned=tally.abandoned,
        closed_by_service=tally.closed_by_service,
        answers=len(answers),
        answer_statuses=tally.statuses,
        answer_ms_median=median(answers) * 1000 if answers else None,
        answer_ms_max=answers[-1] * 1000 if answers else None,
        unfinished_connects=len(tasks),
    )


def impatient(port: int, path: str, rate: int, seconds: int, patience: float) -> ImpatientLoad:
    """`rate` new clients a second for `seconds`, each asking `path` once and leaving after
    `patience`; launches are paced on a 5 ms tick and the tick's lateness is recorded."""
    with asyncio.Runner(loop_factory=client_loop()) as runner:
        return runner.run(_impatient(port, path, rate, seconds, patience))
