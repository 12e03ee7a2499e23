"""Cluster state on Redis or Valkey (`REDIS_URL`): the store, flight, budget and hold-offs of
`service/ports.py`, shared by every replica and worker of a deployment."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from stock_ticker.config import Settings
from stock_ticker.observability.metrics import Metrics
from stock_ticker.service.memory_store import MemorySeriesStore
from stock_ticker.service.shared.budget import SharedBudget
from stock_ticker.service.shared.codec import Clocks
from stock_ticker.service.shared.hold_offs import SharedHoldOffs
from stock_ticker.service.shared.leased_flight import LEASE_MARGIN_SECONDS, LeasedFlight
from stock_ticker.service.shared.link import RedisLink, SharedStoreDown, connect, describe
from stock_ticker.service.shared.tiered_store import TieredSeriesStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SharedState:
    link: RedisLink
    store: TieredSeriesStore
    flight: LeasedFlight
    budget: SharedBudget
    hold_offs: SharedHoldOffs

    async def start(self) -> None:
        """One PING at start, so the gauge and the log say at once whether the store answers,
        and the budget gauge starts from the deployment's count."""
        try:
            await self.link.run(lambda r: r.ping())
        except SharedStoreDown:
            return  # logged by the link; requests are served from process memory meanwhile
        await self.budget.sync()


def shared_state(
    settings: Settings, metrics: Metrics, first: MemorySeriesStore, clocks: Clocks
) -> SharedState:
    """Everything shared, on one connection pool; nothing is sent before `start`."""
    name = describe(settings.redis_url)
    timeout = settings.redis_timeout_seconds
    link = RedisLink(
        connect(settings.redis_url, settings.redis_password, timeout),
        metrics.track_shared_store(),
        name=name,
        timeout=timeout,
    )
    store = TieredSeriesStore(first, link, clocks)
    lease = settings.upstream_deadline_seconds + LEASE_MARGIN_SECONDS
    log.info("sharing state through the shared store", extra={"store": name})
    return SharedState(
        link,
        store,
        LeasedFlight(link, store, lease),
        SharedBudget(
            link,
            settings.upstream_rate_per_second,
            settings.upstream_daily_budget,
            settings.redis_fallback_daily_budget,
            clocks.service,
        ),
        SharedHoldOffs(link, clocks.service),
    )


__all__ = ["SharedState", "shared_state"]
