"""Why a daily series could not be had, as types, whatever the source: raised by the providers
(`upstream/`), passed on by the service, mapped to HTTP statuses by the web layer alone."""

from __future__ import annotations

from collections.abc import Iterable


class UpstreamError(Exception):
    """Base: the upstream could not give us a usable series. Messages never hold the API key."""

    #: True when trying again soon may succeed (transport faults, timeouts, HTTP 5xx/429).
    transient: bool = False
    #: Seconds the upstream asked us to wait, when it said (or we can tell).
    retry_after: float | None = None
    #: False when the request never left this machine (name resolution, connection refused):
    #: such an attempt cost the upstream's quota nothing.
    reached: bool = True

    def __init__(
        self,
        detail: str,
        *,
        retry_after: float | None = None,
        transient: bool | None = None,
        reached: bool = True,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if retry_after is not None:
            self.retry_after = retry_after
        if transient is not None:
            self.transient = transient
        if not reached:
            self.reached = False


class UnknownSymbol(UpstreamError):
    """The source does not know this symbol: Alpha Vantage's "Invalid API call", or a symbol the
    bundled sample data does not have."""

    def __init__(self, detail: str, *, available: Iterable[str] = ()) -> None:
        super().__init__(detail)
        #: The symbols the source does have, sorted, when they are a closed set it can name (the
        #: sample data); empty for Alpha Vantage, which knows thousands and lists none.
        self.available = tuple(sorted(available))


class UpstreamThrottled(UpstreamError):
    """The upstream's rate limit answered instead of data (per-second or per-day quota)."""


class UpstreamRejected(UpstreamError):
    """The upstream refused the request as configured: bad or demo key, premium-only feature."""


class MalformedResponse(UpstreamError):
    """The upstream answered, but not with a series we can trust (HTML, bad JSON, bad numbers,
    oversized headers or body)."""


class UpstreamUnavailable(UpstreamError):
    """Connection failed or the upstream answered HTTP 5xx/429."""

    transient = True


class UpstreamTimeout(UpstreamError):
    """The upstream did not answer within the time allowed."""

    transient = True
