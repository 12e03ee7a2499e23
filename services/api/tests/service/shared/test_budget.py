"""The deployment's call budget in a real redis-server: one rolling day and one pace for every
replica, both checked in one step on the server's clock, persisted, and bounded while the store
is unreachable (the quota formula)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Callable

import pytest

from stock_ticker.observability.metrics import Metrics
from stock_ticker.service import BudgetExhausted, Quotes
from stock_ticker.service.shared.budget import CALLS_KEY, SharedBudget
from stock_ticker.service.shared.link import RedisLink
from tests.service.replicas import EPOCH, Replicas
from tests.service.scripted import SETTINGS, ScriptedProvider
from tests.support.clock import FakeClock
from tests.support.redis_server import RedisServer

Links = Callable[..., RedisLink]
DAY_MS = 86_400_000


def budget(link: RedisLink, *, rate: float = 0, daily: int = 0, fallback: int = 0) -> SharedBudget:
    return SharedBudget(link, rate, daily, fallback)


async def test_the_daily_budget_is_one_for_all_replicas(
    replicas: Replicas, clock: FakeClock
) -> None:
    provider = ScriptedProvider()
    (a, _), (b, _) = await replicas(provider, 2, upstream_daily_budget=3)
    for quotes, symbol in [(a, "S1"), (b, "S2"), (a, "S3")]:
        await quotes.get(symbol)
    for quotes, symbol in [(b, "S4"), (a, "S5")]:
        with pytest.raises(BudgetExhausted) as refused:
            await quotes.get(symbol)
        assert "daily budget of 3 calls is spent" in refused.value.detail
        assert refused.value.retry_after == pytest.approx(86400, abs=5)
    assert [symbol for symbol, _ in provider.calls] == ["S1", "S2", "S3"]


async def test_the_pace_is_one_for_all_replicas(redis_url: str, links: Links) -> None:
    first, second = budget(links(redis_url), rate=2), budget(links(redis_url), rate=2)
    assert (await first.reserve(10)).wait == 0
    slot = await second.reserve(10)  # the next free slot is half a second after the first
    assert slot.wait == pytest.approx(0.5, abs=0.05)
    assert slot.ticket is not None
    with pytest.raises(BudgetExhausted) as refused:
        await first.reserve(0.5)  # the slot after that is a second away
    assert "paced" in refused.value.detail
    assert refused.value.retry_after == pytest.approx(1.0, abs=0.05)
    await second.refund(slot)  # no daily count to give back to; the pace stays
    assert second.remaining_today() == float("inf")
    with pytest.raises(BudgetExhausted):
        await first.reserve(0.5)


async def test_a_pace_refusal_spends_no_daily_call(redis_url: str, links: Links) -> None:
    shared = budget(links(redis_url), rate=1, daily=2)
    await shared.reserve(0)
    with pytest.raises(BudgetExhausted):
        await shared.reserve(0.1)  # refused by the pace, in the same step as the daily check
    assert shared.remaining_today() == 1
    assert (await shared.reserve(2)).wait == pytest.approx(1.0, abs=0.05)
    assert shared.remaining_today() == 0


async def test_a_refund_gives_back_the_daily_call_but_not_the_pace(
    redis_url: str, links: Links
) -> None:
    shared = budget(links(redis_url), rate=1, daily=1)
    slot = await shared.reserve(0)
    assert shared.remaining_today() == 0
    await shared.refund(slot)
    assert shared.remaining_today() == 1
    assert (await shared.reserve(2)).wait == pytest.approx(1.0, abs=0.05)  # still spaced


async def test_an_older_count_read_after_a_newer_one_does_not_replace_it(
    redis_url: str, links: Links, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reservations in flight on several connections may be read back in any order: the count
    shown is the newest the store gave, not the last one read."""
    link = links(redis_url)
    shared = budget(link, daily=2)
    run = link.run
    answers: list[asyncio.Future[object]] = []
    in_turn = asyncio.Lock()
    results: list[object] = []
    all_ran = asyncio.Event()

    async def held_back(command: Callable[..., object]) -> object:
        """Run the commands one after another, in the order asked; give each answer back when
        the test says."""
        answered: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        answers.append(answered)
        async with in_turn:
            result = await run(command)
        results.append(result)
        if len(results) == 3:
            all_ran.set()
        await answered
        return result

    monkeypatch.setattr(link, "run", held_back)
    first = asyncio.ensure_future(shared.reserve(0))  # granted: 1 left
    second = asyncio.ensure_future(shared.reserve(0))  # granted: 0 left
    third = asyncio.ensure_future(shared.reserve(0))  # refused: 0 left
    await all_ran.wait()
    for answered in reversed(answers):  # read back newest first
        answered.set_result(None)
        await asyncio.sleep(0)  # one loop turn: that reservation reads its answer
    await asyncio.gather(first, second)
    with pytest.raises(BudgetExhausted):
        await third
    assert shared.remaining_today() == 0


async def test_a_store_that_lost_its_data_is_counted_afresh(
    redis_server: RedisServer, links: Links
) -> None:
    """A new volume, say: the count starts again, and so does the gauge."""
    link = links(redis_server.url)
    shared = budget(link, daily=3)
    await shared.reserve(0)
    await shared.reserve(0)
    assert shared.remaining_today() == 1
    await link.client.flushall()
    await shared.sync()
    assert shared.remaining_today() == 3


async def test_after_the_stores_clock_is_set_back_its_answers_are_taken(
    redis_url: str, links: Links
) -> None:
    link = links(redis_url)
    shared = budget(link, daily=3)
    await shared.reserve(0)
    seconds, micros = await link.client.time()
    # As if the last answer had come from an hour ahead of the store's clock now.
    shared._read_at = (seconds + 3600) * 1_000_000 + micros
    await shared.reserve(0)
    assert shared.remaining_today() == 1


async def test_the_day_rolls_on_the_servers_clock(redis_url: str, links: Links) -> None:
    link = links(redis_url)
    seconds, micros = await link.client.time()
    now_ms = seconds * 1000 + micros // 1000
    # Two calls recorded earlier: one just over a day ago (forgotten), one a second short of it.
    await link.client.zadd(
        CALLS_KEY, {"old": now_ms - DAY_MS - 10, "recent": now_ms - DAY_MS + 1000}
    )
    shared = budget(link, daily=2)
    await shared.reserve(0)
    with pytest.raises(BudgetExhausted) as refused:
        await shared.reserve(0)
    assert refused.value.retry_after == pytest.approx(1.0, abs=0.1)  # when "recent" leaves


async def test_a_restarted_replica_sees_the_budget_already_spent(
    replicas: Replicas, clock: FakeClock
) -> None:
    provider = ScriptedProvider()
    ((before, _),) = await replicas(provider, 1, upstream_daily_budget=2)
    await before.get("S1")
    await before.get("S2")
    await before.close()
    ((after, metrics),) = await replicas(provider, 1, upstream_daily_budget=2)
    # The gauge reads the deployment's count at start, before any request.
    assert metrics.registry.get_sample_value("stock_api_upstream_budget_remaining_calls") == 0
    with pytest.raises(BudgetExhausted):
        await after.get("S3")
    assert len(provider.calls) == 2


async def test_the_count_survives_a_restart_of_the_store(
    redis_server: RedisServer, links: Links
) -> None:
    await budget(links(redis_server.url), daily=2).reserve(0)
    redis_server.stop()  # SIGTERM: the AOF is written
    redis_server.start()
    again = budget(links(redis_server.url), daily=2)
    await again.sync()
    assert again.remaining_today() == 1


async def test_an_unlimited_budget_asks_the_store_nothing(
    redis_server: RedisServer, links: Links
) -> None:
    link = links(redis_server.url)
    redis_server.kill()
    slot = await budget(link).reserve(0)
    assert (slot.wait, slot.ticket) == (0, None)
    await budget(link).sync()
    assert link.up
    assert budget(link).remaining_today() == float("inf")


async def test_while_the_store_is_down_each_process_spends_its_fallback_budget(
    redis_server: RedisServer, links: Links
) -> None:
    link = links(redis_server.url)
    shared = budget(link, daily=25, fallback=2)
    redis_server.kill()
    first = await shared.reserve(0)
    assert first.ticket is None  # a local slot
    assert shared.remaining_today() == 1  # what this process may still spend
    await shared.refund(first)  # a call that never left: given back locally
    await shared.reserve(0)
    await shared.reserve(0)
    with pytest.raises(BudgetExhausted):
        await shared.reserve(0)


async def test_a_fallback_budget_of_zero_makes_no_call_while_the_store_is_down(
    redis_server: RedisServer, links: Links
) -> None:
    shared = budget(links(redis_server.url), daily=25, fallback=0)
    redis_server.kill()
    with pytest.raises(BudgetExhausted) as refused:
        await shared.reserve(0)
    assert "REDIS_FALLBACK_DAILY_BUDGET is 0" in refused.value.detail


async def test_a_refund_the_store_does_not_take_keeps_the_call_counted(
    redis_server: RedisServer, links: Links
) -> None:
    link = links(redis_server.url)
    shared = budget(link, daily=2)
    slot = await shared.reserve(0)
    redis_server.kill()
    await shared.refund(slot)  # lost: the budget errs on the side of the quota
    redis_server.start()
    again = budget(links(redis_server.url), daily=2)
    await again.sync()
    assert again.remaining_today() == 1


async def test_the_quota_formula_holds_budget_plus_fallback_per_process(
    redis_server: RedisServer, clock: FakeClock
) -> None:
    """In any rolling day: at most UPSTREAM_DAILY_BUDGET + REDIS_FALLBACK_DAILY_BUDGET x P calls,
    P the processes that ran while the store was unreachable. Here 3 + 2 x 2 = 7, exactly."""
    provider = ScriptedProvider()
    settings = dataclasses.replace(
        SETTINGS,
        redis_url=redis_server.url,
        upstream_daily_budget=3,
        redis_fallback_daily_budget=2,
    )
    processes = [
        Quotes(provider, settings, Metrics(), clock=clock, wall=lambda: clock.now + EPOCH)
        for _ in range(2)
    ]
    symbols = iter(f"S{i}" for i in range(100))
    try:
        for quotes in processes:
            await quotes.start()
        for _ in range(10):  # with the store up: 3 in all
            for quotes in processes:
                with contextlib.suppress(BudgetExhausted):
                    await quotes.get(next(symbols))
        assert len(provider.calls) == 3
        redis_server.kill()
        for _ in range(10):  # the store unreachable: 2 more per process
            for quotes in processes:
                with contextlib.suppress(BudgetExhausted):
                    await quotes.get(next(symbols))
        assert len(provider.calls) == 3 + 2 * 2
    finally:
        for quotes in processes:
            await quotes.close()
