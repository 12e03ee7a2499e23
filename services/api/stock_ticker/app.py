"""`create_app(settings)`: the one place that wires config, upstream, service and web together."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator, Callable

import aiohttp
from aiohttp import web

from stock_ticker.config import Settings
from stock_ticker.observability.metrics import Metrics
from stock_ticker.service import Quotes
from stock_ticker.upstream import AlphaVantageClient, PriceProvider, SampleProvider
from stock_ticker.upstream.sample import sample_symbols
from stock_ticker.web.docs import DOCS_PATHS, setup_docs
from stock_ticker.web.middlewares import http_envelope
from stock_ticker.web.routes import setup_routes
from stock_ticker.web.state import LIFECYCLE, METRICS, QUOTES, SETTINGS, Lifecycle

log = logging.getLogger(__name__)

ProviderFactory = Callable[[aiohttp.ClientSession], PriceProvider]


def create_app(
    settings: Settings,
    *,
    provider_factory: ProviderFactory | None = None,
    quotes_factory: Callable[[PriceProvider, Settings, Metrics], Quotes] = Quotes,
) -> web.Application:
    """Build the application. Nothing touches the network until a request needs data."""
    factory = provider_factory
    if factory is None:
        settings, factory = _default_provider(settings)
    registry = Metrics()
    app = web.Application(
        middlewares=[http_envelope(registry, DOCS_PATHS)],
        client_max_size=1024,  # no route takes a body
    )
    app[SETTINGS] = settings
    app[METRICS] = registry
    app[LIFECYCLE] = Lifecycle()
    setup_routes(app, enable_metrics=settings.enable_metrics)
    setup_docs(app)

    async def quotes_ctx(app: web.Application) -> AsyncIterator[None]:
        timeout = aiohttp.ClientTimeout(
            total=None, connect=settings.upstream_timeout_seconds, sock_read=None
        )
        # A new connection per call (25 a day make the handshake free): a connection closed
        # without an answer is then the upstream hanging up, never a stale pooled socket.
        connector = aiohttp.TCPConnector(force_close=True)
        async with aiohttp.ClientSession(
            timeout=timeout, raise_for_status=False, connector=connector
        ) as session:
            # aiohttp silently sends a GET again when the connection drops before the answer's
            # headers, and no public setting turns that off; each resend spends a call of the
            # quota. Attempts are ours to count (the fault matrix's hang-up row holds it).
            session._retry_connection = False
            app[QUOTES] = quotes_factory(factory(session), settings, registry)
            await app[QUOTES].start()
            yield
            await app[QUOTES].close()

    async def stop_refreshes(app: web.Application) -> None:
        # Runs as the listener closes, before requests in flight are awaited (for at most
        # SHUTDOWN_TIMEOUT_SECONDS): refreshes end a little before that, so their waiters are
        # answered instead of cut off.
        app[QUOTES].cancel_refreshes_after(settings.shutdown_timeout_seconds)

    app.cleanup_ctx.append(quotes_ctx)
    app.on_shutdown.append(stop_refreshes)
    return app


def _default_provider(settings: Settings) -> tuple[Settings, ProviderFactory]:
    """The provider the settings call for, and the settings to serve it with.

    Without a key the bundled sample data is served and, unless ALLOWED_SYMBOLS says otherwise,
    every symbol is admitted as with `ALLOWED_SYMBOLS='*'`: the sample provider is a closed set
    that costs no quota, so it is the one to answer, 200 for a bundled symbol and, for any other,
    a 404 that lists the bundled ones (a 403 "not in ALLOWED_SYMBOLS" would blame a variable
    nobody set). ALLOWED_SYMBOLS, when set, restricts as it does with a key, and `SYMBOL` is
    admitted as always, bundled or not. Decided here, where the provider is chosen, because only
    here are both the key and the provider known; `Settings.admits` keeps its one rule.
    """
    if settings.live:
        return settings, lambda session: AlphaVantageClient(
            session, settings.stocks_api_host, settings.stocks_api_key
        )
    if not settings.allowed_symbols:  # ALLOWED_SYMBOLS unset (or already '*')
        settings = dataclasses.replace(settings, allow_any_symbol=True)
    log.warning(
        "no STOCKS_API_KEY set: serving the bundled sample data (source=sample: real daily "
        "prices of %s, ending 2013-03-01); set STOCKS_API_KEY to an Alpha Vantage key for live "
        "prices",
        ", ".join(sorted(sample_symbols())),
    )
    return settings, lambda session: SampleProvider()
