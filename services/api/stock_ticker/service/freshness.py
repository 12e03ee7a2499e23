"""How long a freshly fetched series stays fresh: by the market calendar, or a fixed TTL.

A daily bar changes once per trading day, after the US close, so under `REFRESH_POLICY=market`
(the default) a US/Eastern series that already holds the newest bar that is due is fresh until
the next one is due: the close of the next NYSE session after its newest bar, plus
`MARKET_DATA_DELAY_MINUTES` (the upstream publishes some time after the close). A series that is
behind (the bar is due but not there yet) is fresh for `API_REFRESH_FREQUENCY_MINUTES`, so the
service re-checks at that pace until it appears. A bar of a session that has not closed yet (an
intraday answer) is fresh only until its own session's bar is due, when it is fetched final.
Other time zones, and `REFRESH_POLICY=fixed`, use `API_REFRESH_FREQUENCY_MINUTES` whatever the
calendar.
"""

from __future__ import annotations

from stock_ticker.config import Settings
from stock_ticker.domain import PriceSeries
from stock_ticker.domain.market import US_EASTERN, next_close_after, session_close


def fresh_for(series: PriceSeries, now: float, settings: Settings) -> float:
    """Seconds `series`, fetched at `now` (a Unix time), stays fresh."""
    if settings.refresh_policy != "market" or series.time_zone != US_EASTERN:
        return settings.cache_ttl_seconds
    delay = settings.market_data_delay_seconds
    own = session_close(series.newest)
    if own is not None and own.timestamp() + delay > now:
        # The newest bar's own session is not over: the bar may still change until it is due.
        due = own.timestamp() + delay
    else:
        due = next_close_after(series.newest).timestamp() + delay  # Unix times: DST-proof
    left = due - now
    return left if left > 0 else settings.cache_ttl_seconds
