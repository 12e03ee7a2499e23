"""`MemoryHoldOffs`: the key-wide hold-off and the per-symbol rests, on a hand-moved clock."""

from __future__ import annotations

import pytest

from stock_ticker.service import hold_offs
from stock_ticker.service.hold_offs import MemoryHoldOffs
from stock_ticker.upstream import UpstreamThrottled, UpstreamUnavailable
from tests.support.clock import FakeClock


async def test_a_shorter_hold_off_never_shortens_one_in_force(clock: FakeClock) -> None:
    holds = MemoryHoldOffs(clock)
    long, short = UpstreamThrottled("daily"), UpstreamUnavailable("503")
    await holds.hold(60, long)
    await holds.hold(5, short)
    held = await holds.held()
    assert held is not None
    assert (held.until, held.cause) == (clock() + 60, long)
    clock.advance(60)
    assert await holds.held() is None
    await holds.hold(5, short)  # once over, any new hold-off counts
    held = await holds.held()
    assert held is not None
    assert held.cause is short


async def test_rests_are_per_symbol(clock: FakeClock) -> None:
    holds = MemoryHoldOffs(clock)
    assert await holds.failed("MSFT", UpstreamUnavailable("x"), at_least=0) == 10
    assert await holds.resting("AAPL") is None
    assert await holds.failed("MSFT", UpstreamUnavailable("x"), at_least=0) == 20
    assert await holds.failed("AAPL", UpstreamUnavailable("x"), at_least=45) == 45
    await holds.succeeded("MSFT")
    assert await holds.resting("MSFT") is None
    assert await holds.failed("MSFT", UpstreamUnavailable("x"), at_least=0) == 10


async def test_the_failure_counts_remembered_are_bounded(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hold_offs, "MAX_REMEMBERED", 2)
    holds = MemoryHoldOffs(clock)
    for symbol in ("A", "B", "C"):
        await holds.failed(symbol, UpstreamUnavailable("x"), at_least=0)
    assert await holds.resting("A") is None  # the oldest was forgotten
    assert await holds.resting("B") is not None
    assert await holds.resting("C") is not None
