"""Settings, read once from the environment; each error names the variable and accepted form."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from yarl import URL

from stock_ticker.domain.symbols import MAX_NDAYS, NDAYS_FORM, SYMBOL_FORM, SYMBOL_PATTERN

_FLAGS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


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


@dataclass(frozen=True, slots=True)
class Variable:
    """One environment variable: the `Settings` field it fills, how its text is read, and the
    form named in the error. Its default is the field's own default in `Settings`."""

    name: str
    field: str
    parse: Callable[[str], Any]
    accepted: str


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Build `Settings` from an environment mapping; raise `ConfigError` on the first bad value.

    An unset or blank variable keeps the field's default."""
    values: dict[str, Any] = {}
    for variable in VARIABLES:
        raw = environ.get(variable.name, "").strip()
        if not raw:
            continue
        try:
            values[variable.field] = variable.parse(raw)
        except (ValueError, InvalidOperation, KeyError):
            raise ConfigError(variable.name, variable.accepted) from None
    settings = Settings(
        **values, allow_any_symbol=environ.get("ALLOWED_SYMBOLS", "").strip() == "*"
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


_SECONDS = "a positive number of seconds"
_SECONDS_OR_ZERO = "a number of seconds >= 0"

#: Every variable the service reads, in the order of the README's table. `Settings`, the README
#: check, the ConfigMap check and the Makefile's pass-through list all come from here.
VARIABLES: tuple[Variable, ...] = (
    Variable("SYMBOL", "symbol", parse_symbol, SYMBOL_FORM),
    Variable("NDAYS", "ndays", _int_in(1, MAX_NDAYS), NDAYS_FORM),
    Variable("STOCKS_API_KEY", "stocks_api_key", str, "any text (the Alpha Vantage key)"),
    Variable("STOCKS_API_HOST", "stocks_api_host", _http_url, "an http(s) URL"),
    Variable(
        "ALLOWED_SYMBOLS",
        "allowed_symbols",
        _symbol_list,
        f"'*' or a comma-separated list of symbols ({SYMBOL_FORM})",
    ),
    Variable(
        "API_REFRESH_FREQUENCY_MINUTES",
        "cache_ttl_seconds",
        _minutes_as_seconds,
        "a positive number of minutes",
    ),
    Variable("REFRESH_POLICY", "refresh_policy", _policy, "market or fixed"),
    Variable(
        "MARKET_DATA_DELAY_MINUTES",
        "market_data_delay_seconds",
        _delay_minutes,
        "a number of minutes from 0 to 1440",
    ),
    Variable("LOG_LEVEL", "log_level", _log_level, "one of " + ", ".join(_LOG_LEVELS)),
    Variable(
        "ENABLE_METRICS",
        "enable_metrics",
        _flag,
        "true, 1, yes, false, 0, no or empty",
    ),
    Variable("PORT", "port", _int_in(1, 65535), "an integer from 1 to 65535"),
    Variable("HOST", "host", str, "an address to listen on"),
    Variable("UPSTREAM_TIMEOUT_SECONDS", "upstream_timeout_seconds", _positive, _SECONDS),
    Variable(
        "UPSTREAM_DEADLINE_SECONDS",
        "upstream_deadline_seconds",
        _positive,
        _SECONDS,
    ),
    Variable(
        "UPSTREAM_RATE_PER_SECOND",
        "upstream_rate_per_second",
        _non_negative,
        "a number >= 0 (0 disables the limit)",
    ),
    Variable(
        "UPSTREAM_DAILY_BUDGET",
        "upstream_daily_budget",
        _int_in(0, 10**9),
        "an integer >= 0 (0 disables the limit)",
    ),
    Variable(
        "MAX_STALE_SECONDS",
        "max_stale_seconds",
        _non_negative,
        "a number of seconds >= 0 (0: no stale)",
    ),
    Variable(
        "NEGATIVE_CACHE_SECONDS",
        "negative_cache_seconds",
        _non_negative,
        _SECONDS_OR_ZERO,
    ),
    Variable(
        "REFRESH_AHEAD_SECONDS",
        "refresh_ahead_seconds",
        _non_negative,
        "a number of seconds >= 0 (0: off)",
    ),
    Variable(
        "CACHE_MAX_SYMBOLS",
        "cache_max_symbols",
        _int_in(1, 100_000),
        "an integer from 1 to 100000",
    ),
    Variable(
        "SHUTDOWN_DRAIN_SECONDS",
        "shutdown_drain_seconds",
        _non_negative,
        _SECONDS_OR_ZERO,
    ),
    Variable("SHUTDOWN_TIMEOUT_SECONDS", "shutdown_timeout_seconds", _positive, _SECONDS),
    Variable(
        "STALE_WAIT_SECONDS",
        "stale_wait_seconds",
        _non_negative,
        "a number of seconds >= 0 (0: answer at once)",
    ),
    Variable(
        "UPSTREAM_MAX_ATTEMPTS",
        "upstream_max_attempts",
        _int_in(1, 10),
        "an integer from 1 to 10",
    ),
    Variable("MAX_HOLD_OFF_SECONDS", "max_hold_off_seconds", _positive, _SECONDS),
    Variable(
        "MAX_WAITING_REQUESTS",
        "max_waiting_requests",
        _int_in(1, 1_000_000),
        "an integer from 1 to 1000000",
    ),
    Variable(
        "KEEPALIVE_TIMEOUT_SECONDS",
        "keepalive_timeout_seconds",
        _positive,
        _SECONDS,
    ),
    Variable(
        "WEB_CONCURRENCY",
        "web_concurrency",
        _int_in(1, 64),
        "an integer from 1 to 64",
    ),
    Variable(
        "REDIS_URL",
        "redis_url",
        _redis_url,
        "a redis://, rediss:// or unix:// URL",
    ),
    Variable("REDIS_PASSWORD", "redis_password", str, "any text (the shared store's password)"),
    Variable(
        "REDIS_FALLBACK_DAILY_BUDGET",
        "redis_fallback_daily_budget",
        _int_in(0, 10**9),
        "an integer >= 0 (0: no upstream calls while the shared store is unreachable)",
    ),
    Variable("REDIS_TIMEOUT_SECONDS", "redis_timeout_seconds", _positive, _SECONDS),
)
#: Variables whose value is free text: a secret or an address, checked where it is used.
FREE_FORM = frozenset({"STOCKS_API_KEY", "REDIS_PASSWORD", "HOST"})
