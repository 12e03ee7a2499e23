"""Settings, read once from the environment; each error names the variable and accepted form."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from yarl import URL

from stock_ticker.domain.symbols import MAX_NDAYS, SYMBOL_PATTERN

_FLAGS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
T = TypeVar("T")


class ConfigError(ValueError):
    """A variable holds a value the service cannot run with."""

    def __init__(self, variable: str, accepted: str) -> None:
        super().__init__(f"{variable}: invalid value; expected {accepted}")
        self.variable = variable


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the service reads from its environment, already validated."""

    symbol: str = "MSFT"
    ndays: int = 7
    stocks_api_host: str = "https://www.alphavantage.co/"
    stocks_api_key: str = field(default="", repr=False)
    log_level: str = "INFO"
    enable_metrics: bool = False
    cache_ttl_seconds: float = 3600.0
    port: int = 8000
    host: str = "0.0.0.0"  # noqa: S104 - a server in a container listens on every interface
    allowed_symbols: frozenset[str] = frozenset()
    allow_any_symbol: bool = False
    upstream_timeout_seconds: float = 10.0
    upstream_deadline_seconds: float = 20.0
    upstream_rate_per_second: float = 1.0
    upstream_daily_budget: int = 25
    max_stale_seconds: float = 86400.0
    negative_cache_seconds: float = 300.0
    refresh_ahead_seconds: float = 0.0
    cache_max_symbols: int = 256
    shutdown_drain_seconds: float = 5.0
    shutdown_timeout_seconds: float = 10.0
    web_concurrency: int = 1
    stale_wait_seconds: float = 1.0
    upstream_max_attempts: int = 2
    max_hold_off_seconds: float = 3600.0
    max_waiting_requests: int = 1000
    keepalive_timeout_seconds: float = 75.0
    #: The shared store (Redis or Valkey); empty: every process keeps its own state.
    redis_url: str = field(default="", repr=False)
    redis_password: str = field(default="", repr=False)
    redis_fallback_daily_budget: int = 2
    redis_timeout_seconds: float = 0.1
    refresh_policy: str = "market"
    market_data_delay_seconds: float = 1800.0

    @property
    def live(self) -> bool:
        """True when an API key is set and live upstream data is served."""
        return bool(self.stocks_api_key)

    def admits(self, symbol: str) -> bool:
        """Whether `symbol` (upper-case) may be served: SYMBOL always, others by ALLOWED_SYMBOLS."""
        return symbol == self.symbol or self.allow_any_symbol or symbol in self.allowed_symbols


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Build `Settings` from an environment mapping; raise `ConfigError` on the first bad value."""

    def read(name: str, parse: Callable[[str], T], default: T, accepted: str) -> T:
        raw = environ.get(name)
        if raw is None or raw.strip() == "":
            return default
        try:
            return parse(raw.strip())
        except (ValueError, InvalidOperation, KeyError):
            raise ConfigError(name, accepted) from None

    allowed_raw = environ.get("ALLOWED_SYMBOLS", "").strip()
    allowed: frozenset[str] = read(
        "ALLOWED_SYMBOLS",
        _symbol_list,
        frozenset(),
        "'*' or a comma-separated list of symbols (1-10 of A-Z, 0-9, '.', '-')",
    )
    settings = Settings(
        symbol=read("SYMBOL", parse_symbol, "MSFT", "1-10 characters of A-Z, 0-9, '.', '-'"),
        ndays=read("NDAYS", _int_in(1, MAX_NDAYS), 7, f"an integer from 1 to {MAX_NDAYS}"),
        stocks_api_host=read(
            "STOCKS_API_HOST", _http_url, "https://www.alphavantage.co/", "an http(s) URL"
        ),
        stocks_api_key=environ.get("STOCKS_API_KEY", "").strip(),
        log_level=read("LOG_LEVEL", _log_level, "INFO", "one of " + ", ".join(_LOG_LEVELS)),
        enable_metrics=read("ENABLE_METRICS", _flag, False, "true, 1, yes, false, 0, no or empty"),
        cache_ttl_seconds=read(
            "API_REFRESH_FREQUENCY_MINUTES",
            _minutes_as_seconds,
            3600.0,
            "a positive number of minutes",
        ),
        port=read("PORT", _int_in(1, 65535), 8000, "an integer from 1 to 65535"),
        host=read("HOST", str, "0.0.0.0", "an address to listen on"),  # noqa: S104 - see Settings
        allowed_symbols=allowed,
        allow_any_symbol=allowed_raw == "*",
        upstream_timeout_seconds=read(
            "UPSTREAM_TIMEOUT_SECONDS", _positive, 10.0, "a positive number of seconds"
        ),
        upstream_deadline_seconds=read(
            "UPSTREAM_DEADLINE_SECONDS", _positive, 20.0, "a positive number of seconds"
        ),
        upstream_rate_per_second=read(
            "UPSTREAM_RATE_PER_SECOND", _non_negative, 1.0, "a number >= 0 (0 disables the limit)"
        ),
        upstream_daily_budget=read(
            "UPSTREAM_DAILY_BUDGET",
            _int_in(0, 10**9),
            25,
            "an integer >= 0 (0 disables the limit)",
        ),
        max_stale_seconds=read(
            "MAX_STALE_SECONDS", _non_negative, 86400.0, "a number of seconds >= 0 (0: no stale)"
        ),
        negative_cache_seconds=read(
            "NEGATIVE_CACHE_SECONDS", _non_negative, 300.0, "a number of seconds >= 0"
        ),
        refresh_ahead_seconds=read(
            "REFRESH_AHEAD_SECONDS", _non_negative, 0.0, "a number of seconds >= 0 (0: off)"
        ),
        cache_max_symbols=read(
            "CACHE_MAX_SYMBOLS", _int_in(1, 100_000), 256, "an integer from 1 to 100000"
        ),
        shutdown_drain_seconds=read(
            "SHUTDOWN_DRAIN_SECONDS", _non_negative, 5.0, "a number of seconds >= 0"
        ),
        shutdown_timeout_seconds=read(
            "SHUTDOWN_TIMEOUT_SECONDS", _positive, 10.0, "a positive number of seconds"
        ),
        web_concurrency=read("WEB_CONCURRENCY", _int_in(1, 64), 1, "an integer from 1 to 64"),
        stale_wait_seconds=read(
            "STALE_WAIT_SECONDS", _non_negative, 1.0, "a number of seconds >= 0 (0: answer at once)"
        ),
        upstream_max_attempts=read(
            "UPSTREAM_MAX_ATTEMPTS", _int_in(1, 10), 2, "an integer from 1 to 10"
        ),
        max_hold_off_seconds=read(
            "MAX_HOLD_OFF_SECONDS", _positive, 3600.0, "a positive number of seconds"
        ),
        max_waiting_requests=read(
            "MAX_WAITING_REQUESTS", _int_in(1, 1_000_000), 1000, "an integer from 1 to 1000000"
        ),
        keepalive_timeout_seconds=read(
            "KEEPALIVE_TIMEOUT_SECONDS", _positive, 75.0, "a positive number of seconds"
        ),
        redis_url=read("REDIS_URL", _redis_url, "", "a redis://, rediss:// or unix:// URL"),
        redis_password=environ.get("REDIS_PASSWORD", "").strip(),
        redis_fallback_daily_budget=read(
            "REDIS_FALLBACK_DAILY_BUDGET",
            _int_in(0, 10**9),
            2,
            "an integer >= 0 (0: no upstream calls while the shared store is unreachable)",
        ),
        redis_timeout_seconds=read(
            "REDIS_TIMEOUT_SECONDS", _positive, 0.1, "a positive number of seconds"
        ),
        refresh_policy=read("REFRESH_POLICY", _policy, "market", "market or fixed"),
        market_data_delay_seconds=read(
            "MARKET_DATA_DELAY_MINUTES",
            _delay_minutes,
            1800.0,
            "a number of minutes from 0 to 1440",
        ),
    )
    if settings.upstream_deadline_seconds < settings.upstream_timeout_seconds:
        # No attempt could ever use its whole timeout: surely not what was meant.
        raise ConfigError(
            "UPSTREAM_DEADLINE_SECONDS",
            f"at least UPSTREAM_TIMEOUT_SECONDS ({settings.upstream_timeout_seconds:g} s)",
        )
    return settings


def parse_symbol(raw: str) -> str:
    """A well-formed symbol, upper-cased; `ValueError` otherwise."""
    if not SYMBOL_PATTERN.fullmatch(raw):
        raise ValueError(raw)
    return raw.upper()


def _symbol_list(raw: str) -> frozenset[str]:
    if raw == "*":
        return frozenset()
    return frozenset(parse_symbol(part.strip()) for part in raw.split(","))


def _flag(raw: str) -> bool:
    return _FLAGS[raw.lower()]


def _int_in(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        if not re.fullmatch(r"[0-9]+", raw) or not low <= int(raw) <= high:
            raise ValueError(raw)
        return int(raw)

    return parse


def _non_negative(raw: str) -> float:
    value = Decimal(raw)
    if not value.is_finite() or value < 0 or not math.isfinite(float(value)):
        raise ValueError(raw)
    return float(value)


def _minutes_as_seconds(raw: str) -> float:
    seconds = 60 * _positive(raw)
    if not math.isfinite(seconds):
        raise ValueError(raw)
    return seconds


def _delay_minutes(raw: str) -> float:
    """At most a day: the next session's bar is due by then anyway."""
    minutes = _non_negative(raw)
    if minutes > 1440:
        raise ValueError(raw)
    return 60 * minutes


def _policy(raw: str) -> str:
    if raw.lower() not in ("market", "fixed"):
        raise ValueError(raw)
    return raw.lower()


def _positive(raw: str) -> float:
    value = _non_negative(raw)
    if value == 0:
        raise ValueError(raw)
    return value


def _http_url(raw: str) -> str:
    url = URL(raw)
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(raw)
    return raw


def _redis_url(raw: str) -> str:
    url = URL(raw)
    if url.scheme not in ("redis", "rediss", "unix") or not (url.host or url.path):
        raise ValueError(raw)
    return raw


def _log_level(raw: str) -> str:
    if raw.upper() not in _LOG_LEVELS:
        raise ValueError(raw)
    return raw.upper()
