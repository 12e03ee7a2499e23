"""SingleFlight: one call per key, its outcome shared, never cancelled by a departing waiter."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import AsyncIterator

import pytest

from stock_ticker.service.single_flight import SingleFlight


class Upstream:
    """A call that counts itself and holds its answer until the test opens the gate."""

    def __init__(self, result: str = "value", error: BaseException | None = None) -> None:
        self.calls = 0
        self.finished = 0
        self.gate = asyncio.Event()
        self.result = result
        self.error = error

    async def __call__(self) -> str:
        self.calls += 1
        await self.gate.wait()
        self.finished += 1
        if self.error is not None:
            raise self.error
        return f"{self.result}-{self.calls}"


async def settle() -> None:
    """Let every ready task run until it blocks."""
    for _ in range(5):
        await asyncio.sleep(0)


@pytest.fixture
async def loop_errors() -> AsyncIterator[list[str]]:
    """What the running loop reports to its exception handler (e.g. 'never retrieved').

    Only the messages are kept: keeping the context would keep the task in it alive.
    """
    loop = asyncio.get_running_loop()
    seen: list[str] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: seen.append(str(context["message"])))
    yield seen
    loop.set_exception_handler(previous)


async def test_one_hundred_concurrent_callers_share_one_call() -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    upstream = Upstream()

    waiters = [asyncio.create_task(flight.run("MSFT", upstream)) for _ in range(100)]
    await settle()
    assert upstream.calls == 1
    assert not any(w.done() for w in waiters)

    upstream.gate.set()
    results = await asyncio.gather(*waiters)

    assert results == ["value-1"] * 100
    assert upstream.calls == 1


async def test_different_keys_run_separately() -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    msft, ibm = Upstream("msft"), Upstream("ibm")

    a = asyncio.create_task(flight.run("MSFT", msft))
    b = asyncio.create_task(flight.run("IBM", ibm))
    await settle()
    assert (msft.calls, ibm.calls) == (1, 1)

    msft.gate.set()
    ibm.gate.set()
    assert list(await asyncio.gather(a, b)) == ["msft-1", "ibm-1"]


async def test_a_failure_is_shared_by_every_waiter_and_not_retried() -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    boom = RuntimeError("upstream down")
    upstream = Upstream(error=boom)

    waiters = [asyncio.create_task(flight.run("MSFT", upstream)) for _ in range(10)]
    await settle()
    upstream.gate.set()
    outcomes = await asyncio.gather(*waiters, return_exceptions=True)

    assert all(outcome is boom for outcome in outcomes)
    assert upstream.calls == 1


async def test_the_key_is_freed_after_success_so_the_next_call_runs_again() -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    upstream = Upstream()
    upstream.gate.set()

    assert await flight.run("MSFT", upstream) == "value-1"
    assert await flight.run("MSFT", upstream) == "value-2"
    assert upstream.calls == 2


async def test_the_key_is_freed_after_a_failure() -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    failing = Upstream(error=ValueError("bad"))
    failing.gate.set()
    with pytest.raises(ValueError, match="bad"):
        await flight.run("MSFT", failing)

    working = Upstream()
    working.gate.set()
    assert await flight.run("MSFT", working) == "value-1"
    assert (failing.calls, working.calls) == (1, 1)


async def test_a_cancelled_waiter_does_not_cancel_the_shared_call() -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    upstream = Upstream()
    leaving = asyncio.create_task(flight.run("MSFT", upstream))
    staying = asyncio.create_task(flight.run("MSFT", upstream))
    await settle()

    leaving.cancel()  # e.g. the client disconnected
    with pytest.raises(asyncio.CancelledError):
        await leaving
    await settle()
    assert not staying.done()

    upstream.gate.set()
    assert await staying == "value-1"
    assert upstream.calls == 1
    assert upstream.finished == 1


async def test_the_call_completes_even_when_every_waiter_leaves() -> None:
    # Quota spent on an answer is never thrown away.
    flight: SingleFlight[str, str] = SingleFlight()
    upstream = Upstream()
    only = asyncio.create_task(flight.run("MSFT", upstream))
    await settle()
    only.cancel()
    with pytest.raises(asyncio.CancelledError):
        await only

    upstream.gate.set()
    await flight.wait_idle()

    assert upstream.finished == 1


async def test_a_late_caller_joins_the_call_in_flight() -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    upstream = Upstream()
    first = asyncio.create_task(flight.run("MSFT", upstream))
    await settle()

    late = asyncio.create_task(flight.run("MSFT", upstream))
    await settle()
    upstream.gate.set()

    assert list(await asyncio.gather(first, late)) == ["value-1", "value-1"]
    assert upstream.calls == 1


async def test_start_returns_the_task_in_flight() -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    upstream = Upstream()

    task = flight.start("MSFT", upstream)
    again = flight.start("MSFT", upstream)
    joined = asyncio.create_task(flight.run("MSFT", upstream))
    await settle()

    assert again is task
    assert upstream.calls == 1
    upstream.gate.set()
    assert await task == "value-1"
    assert await joined == "value-1"


async def test_cancelling_the_shared_call_reaches_waiters_and_frees_the_key(
    loop_errors: list[str],
) -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    upstream = Upstream()
    task = flight.start("MSFT", upstream)
    waiter = asyncio.create_task(flight.run("MSFT", upstream))
    await settle()

    task.cancel()  # e.g. shutdown
    with pytest.raises(asyncio.CancelledError):
        await waiter
    await settle()

    again = Upstream()
    again.gate.set()
    assert await flight.run("MSFT", again) == "value-1"
    assert loop_errors == []


async def test_wait_idle_with_nothing_in_flight_returns_at_once() -> None:
    flight: SingleFlight[str, str] = SingleFlight()

    await asyncio.wait_for(flight.wait_idle(), timeout=1)


async def test_wait_idle_waits_for_every_call_in_flight() -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    ok, failing = Upstream(), Upstream(error=RuntimeError("x"))
    flight.start("MSFT", ok)
    flight.start("IBM", failing)
    idle = asyncio.create_task(flight.wait_idle())
    await settle()
    assert not idle.done()

    ok.gate.set()
    await settle()
    assert not idle.done()  # IBM still running

    failing.gate.set()
    await asyncio.wait_for(idle, timeout=1)  # a failed call does not make wait_idle raise
    assert (ok.finished, failing.finished) == (1, 1)


async def test_membership_tells_whether_a_call_is_in_flight() -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    upstream = Upstream()
    assert "MSFT" not in flight

    task = flight.start("MSFT", upstream)
    assert "MSFT" in flight
    assert "IBM" not in flight

    upstream.gate.set()
    await task
    await settle()
    assert "MSFT" not in flight


async def test_wait_idle_with_a_timeout_lets_calls_that_finish_in_time_finish(
    loop_errors: list[str],
) -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    upstream = Upstream()
    task = flight.start("MSFT", upstream)
    upstream.gate.set()

    await flight.wait_idle(timeout=60)

    assert task.result() == "value-1"
    assert upstream.finished == 1
    assert loop_errors == []


async def test_wait_idle_cancels_what_is_left_after_the_timeout(loop_errors: list[str]) -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    quick, stuck = Upstream("quick"), Upstream("stuck")
    quick_task = flight.start("MSFT", quick)
    stuck_task = flight.start("IBM", stuck)  # its gate never opens
    waiter = asyncio.create_task(flight.run("IBM", stuck))
    idle = asyncio.create_task(flight.wait_idle(timeout=0.05))
    await settle()
    quick.gate.set()  # finishes while wait_idle waits

    await asyncio.wait_for(idle, timeout=5)

    assert quick_task.result() == "quick-1"  # done in time: not cancelled
    assert stuck_task.cancelled()  # still running at the deadline: cancelled, and waited for
    assert stuck.finished == 0
    with pytest.raises(asyncio.CancelledError):
        await waiter
    await settle()
    assert "IBM" not in flight
    assert "MSFT" not in flight
    assert loop_errors == []


async def test_an_unawaited_plain_task_failure_is_reported_so_the_check_below_works(
    loop_errors: list[str],
) -> None:
    # Control: a failed task nobody looks at is reported when it is collected.
    failing = Upstream(error=RuntimeError("nobody waits"))
    failing.gate.set()
    ref = weakref.ref(asyncio.create_task(failing()))
    await settle()
    gc.collect()

    assert ref() is None
    assert loop_errors == ["Task exception was never retrieved"]


async def test_a_failure_nobody_awaits_is_not_reported_as_never_retrieved(
    loop_errors: list[str],
) -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    failing = Upstream(error=RuntimeError("nobody waits"))
    ref = weakref.ref(flight.start("MSFT", failing))  # fire and forget: no reference kept
    failing.gate.set()
    await flight.wait_idle()
    await settle()
    gc.collect()

    assert failing.finished == 1
    assert ref() is None  # the task really was collected, so the check below means something
    assert loop_errors == []


async def test_a_failure_after_every_waiter_left_is_not_reported(
    loop_errors: list[str],
) -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    failing = Upstream(error=RuntimeError("nobody waits any more"))
    waiter = asyncio.create_task(flight.run("MSFT", failing))
    await settle()
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    del waiter

    failing.gate.set()
    await flight.wait_idle()
    await settle()
    gc.collect()

    assert failing.finished == 1
    assert loop_errors == []
