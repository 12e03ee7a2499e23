"""load_settings: defaults, every variable's valid and invalid values, and the key kept secret."""

from __future__ import annotations

import dataclasses
import re
import traceback
from pathlib import Path

import pytest

from stock_ticker.config import (
    FREE_FORM,
    VARIABLES,
    ConfigError,
    Settings,
    load_settings,
    parse_symbol,
)

SECRET = "SECRET-KEY-9d81c0ffee"  # distinctive, so a leak is easy to spot

# --- defaults -------------------------------------------------------------------------------

README = Path(__file__).resolve().parents[3] / "README.md"
NAMES = [variable.name for variable in VARIABLES]
DEFAULTS = dataclasses.asdict(Settings())


def readme_defaults() -> dict[str, str]:
    """The README's Configuration table: variable name -> its default cell."""
    rows = re.findall(r"^\| `([A-Z_0-9]+)` \| ([^|]+) \|", README.read_text(), re.MULTILINE)
    return {name: cell.strip() for name, cell in rows}


def test_the_readme_documents_every_variable_with_its_real_default() -> None:
    documented = readme_defaults()
    assert list(documented) == NAMES  # every one, in the table's order
    for variable in VARIABLES:
        cell, default = documented[variable.name], DEFAULTS[variable.field]
        if cell.startswith("`"):  # a value: read as the service would read it
            assert variable.parse(cell.strip("`")) == default, variable.name
        else:  # "*(none)*", "*(off)*", "*(empty: ...)*"
            assert not default, variable.name


def test_an_empty_environment_gives_the_dataclass_defaults() -> None:
    assert load_settings({}) == Settings()


def test_every_variable_fills_a_settings_field_once() -> None:
    fields = [variable.field for variable in VARIABLES]
    assert len(set(fields)) == len(fields)
    assert set(fields) | {"allow_any_symbol"} == set(DEFAULTS)


@pytest.mark.parametrize("blank", ["", " ", "\t", "  \n"])
def test_blank_values_mean_the_default(blank: str) -> None:
    assert load_settings(dict.fromkeys(NAMES, blank)) == Settings()


def test_unrelated_variables_are_ignored() -> None:
    assert load_settings({"PATH": "/usr/bin", "ndays": "x", "HOME": "/root"}) == Settings()


# --- valid values ---------------------------------------------------------------------------

VALID = [
    ("SYMBOL", "IBM", "symbol", "IBM"),
    ("SYMBOL", "msft", "symbol", "MSFT"),
    ("SYMBOL", " brk.b ", "symbol", "BRK.B"),
    ("SYMBOL", "BF-B", "symbol", "BF-B"),
    ("SYMBOL", "ABCDEFGHIJ", "symbol", "ABCDEFGHIJ"),
    ("SYMBOL", "7203.T", "symbol", "7203.T"),
    ("NDAYS", "1", "ndays", 1),
    ("NDAYS", "100", "ndays", 100),
    ("NDAYS", " 30 ", "ndays", 30),
    ("NDAYS", "007", "ndays", 7),
    ("STOCKS_API_HOST", "http://localhost:8080", "stocks_api_host", "http://localhost:8080"),
    ("STOCKS_API_HOST", "https://av.example/base/", "stocks_api_host", "https://av.example/base/"),
    ("STOCKS_API_HOST", "http://127.0.0.1:9/", "stocks_api_host", "http://127.0.0.1:9/"),
    ("LOG_LEVEL", "DEBUG", "log_level", "DEBUG"),
    ("LOG_LEVEL", "debug", "log_level", "DEBUG"),
    ("LOG_LEVEL", "Warning", "log_level", "WARNING"),
    ("LOG_LEVEL", "error", "log_level", "ERROR"),
    ("LOG_LEVEL", "CRITICAL", "log_level", "CRITICAL"),
    ("API_REFRESH_FREQUENCY_MINUTES", "60", "cache_ttl_seconds", 3600.0),
    ("API_REFRESH_FREQUENCY_MINUTES", "1.5", "cache_ttl_seconds", 90.0),
    ("API_REFRESH_FREQUENCY_MINUTES", "0.05", "cache_ttl_seconds", 3.0),
    ("API_REFRESH_FREQUENCY_MINUTES", "1440", "cache_ttl_seconds", 86400.0),
    ("PORT", "1", "port", 1),
    ("PORT", "8080", "port", 8080),
    ("PORT", "65535", "port", 65535),
    ("HOST", "127.0.0.1", "host", "127.0.0.1"),
    ("HOST", "::", "host", "::"),
    ("HOST", " localhost ", "host", "localhost"),
    ("UPSTREAM_TIMEOUT_SECONDS", "2.5", "upstream_timeout_seconds", 2.5),
    ("UPSTREAM_TIMEOUT_SECONDS", "0.001", "upstream_timeout_seconds", 0.001),
    ("UPSTREAM_DEADLINE_SECONDS", "30", "upstream_deadline_seconds", 30.0),
    ("UPSTREAM_RATE_PER_SECOND", "0", "upstream_rate_per_second", 0.0),
    ("UPSTREAM_RATE_PER_SECOND", "0.5", "upstream_rate_per_second", 0.5),
    ("UPSTREAM_RATE_PER_SECOND", "75", "upstream_rate_per_second", 75.0),
    ("UPSTREAM_DAILY_BUDGET", "0", "upstream_daily_budget", 0),
    ("UPSTREAM_DAILY_BUDGET", "500", "upstream_daily_budget", 500),
    ("UPSTREAM_DAILY_BUDGET", "1000000000", "upstream_daily_budget", 10**9),
    ("MAX_STALE_SECONDS", "0", "max_stale_seconds", 0.0),
    ("MAX_STALE_SECONDS", "3600", "max_stale_seconds", 3600.0),
    ("NEGATIVE_CACHE_SECONDS", "0", "negative_cache_seconds", 0.0),
    ("NEGATIVE_CACHE_SECONDS", "12.5", "negative_cache_seconds", 12.5),
    ("REFRESH_AHEAD_SECONDS", "0", "refresh_ahead_seconds", 0.0),
    ("REFRESH_AHEAD_SECONDS", "120", "refresh_ahead_seconds", 120.0),
    ("CACHE_MAX_SYMBOLS", "1", "cache_max_symbols", 1),
    ("CACHE_MAX_SYMBOLS", "100000", "cache_max_symbols", 100_000),
    ("SHUTDOWN_DRAIN_SECONDS", "0", "shutdown_drain_seconds", 0.0),
    ("SHUTDOWN_DRAIN_SECONDS", "1e1", "shutdown_drain_seconds", 10.0),
    ("WEB_CONCURRENCY", "1", "web_concurrency", 1),
    ("WEB_CONCURRENCY", "64", "web_concurrency", 64),
    ("SHUTDOWN_TIMEOUT_SECONDS", "2.5", "shutdown_timeout_seconds", 2.5),
    ("STALE_WAIT_SECONDS", "0", "stale_wait_seconds", 0.0),
    ("STALE_WAIT_SECONDS", "0.25", "stale_wait_seconds", 0.25),
    ("UPSTREAM_MAX_ATTEMPTS", "1", "upstream_max_attempts", 1),
    ("UPSTREAM_MAX_ATTEMPTS", "10", "upstream_max_attempts", 10),
    ("MAX_HOLD_OFF_SECONDS", "60", "max_hold_off_seconds", 60.0),
    ("MAX_WAITING_REQUESTS", "1", "max_waiting_requests", 1),
    ("MAX_WAITING_REQUESTS", "1000000", "max_waiting_requests", 1_000_000),
    ("KEEPALIVE_TIMEOUT_SECONDS", "5", "keepalive_timeout_seconds", 5.0),
    ("REFRESH_POLICY", "fixed", "refresh_policy", "fixed"),
    ("REFRESH_POLICY", "Market", "refresh_policy", "market"),
    ("REDIS_URL", "redis://valkey:6379/0", "redis_url", "redis://valkey:6379/0"),
    ("REDIS_URL", "rediss://:pw@valkey:6380/1", "redis_url", "rediss://:pw@valkey:6380/1"),
    ("REDIS_URL", "unix:///run/valkey.sock", "redis_url", "unix:///run/valkey.sock"),
    ("REDIS_PASSWORD", "s3cret", "redis_password", "s3cret"),
    ("REDIS_FALLBACK_DAILY_BUDGET", "0", "redis_fallback_daily_budget", 0),
    ("REDIS_FALLBACK_DAILY_BUDGET", "5", "redis_fallback_daily_budget", 5),
    ("REDIS_TIMEOUT_SECONDS", "0.5", "redis_timeout_seconds", 0.5),
    ("MARKET_DATA_DELAY_MINUTES", "0", "market_data_delay_seconds", 0.0),
    ("MARKET_DATA_DELAY_MINUTES", "45", "market_data_delay_seconds", 2700.0),
    ("MARKET_DATA_DELAY_MINUTES", "1440", "market_data_delay_seconds", 86400.0),
]


@pytest.mark.parametrize(
    ("variable", "raw", "attribute", "expected"),
    [pytest.param(*case, id=f"{case[0]}={case[1]!r}") for case in VALID],
)
def test_valid_values_are_read(variable: str, raw: str, attribute: str, expected: object) -> None:
    settings = load_settings({variable: raw})

    assert getattr(settings, attribute) == expected
    assert type(getattr(settings, attribute)) is type(expected)
    # and nothing else moved from its default
    others = {k: v for k, v in dataclasses.asdict(settings).items() if k != attribute}
    assert others == {k: v for k, v in DEFAULTS.items() if k != attribute}


def test_refresh_frequency_of_0_05_minutes_is_a_3_second_ttl() -> None:
    assert load_settings({"API_REFRESH_FREQUENCY_MINUTES": "0.05"}).cache_ttl_seconds == 3.0


# --- invalid values -------------------------------------------------------------------------

# (variable, bad value, a phrase of the accepted form the message must state)
INVALID = [
    ("SYMBOL", "BRK/B", "1 to 10 characters of letters, digits, '.' and '-'"),
    ("SYMBOL", "ABCDEFGHIJK", "1 to 10 characters"),
    ("SYMBOL", "MS FT", "1 to 10 characters"),
    ("SYMBOL", "MSFT;DROP", "1 to 10 characters"),
    ("SYMBOL", "ÄPFEL", "1 to 10 characters"),
    ("SYMBOL", "*", "1 to 10 characters"),
    ("NDAYS", "0", "an integer from 1 to 100"),
    ("NDAYS", "101", "an integer from 1 to 100"),
    ("NDAYS", "-1", "an integer from 1 to 100"),
    ("NDAYS", "+7", "an integer from 1 to 100"),
    ("NDAYS", "7.0", "an integer from 1 to 100"),
    ("NDAYS", "1e1", "an integer from 1 to 100"),
    ("NDAYS", "seven", "an integer from 1 to 100"),
    ("NDAYS", "\u0667", "an integer from 1 to 100"),  # ARABIC-INDIC SEVEN: int() takes it
    ("NDAYS", "1_0", "an integer from 1 to 100"),
    ("STOCKS_API_HOST", "www.alphavantage.co", "an http(s) URL"),
    ("STOCKS_API_HOST", "ftp://www.alphavantage.co/", "an http(s) URL"),
    ("STOCKS_API_HOST", "http://", "an http(s) URL"),
    ("STOCKS_API_HOST", "http:///query", "an http(s) URL"),
    ("STOCKS_API_HOST", "http://[::1", "an http(s) URL"),
    ("STOCKS_API_HOST", "http://:80", "an http(s) URL"),
    ("LOG_LEVEL", "TRACE", "one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
    ("LOG_LEVEL", "warn", "one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
    ("LOG_LEVEL", "10", "one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
    ("API_REFRESH_FREQUENCY_MINUTES", "0", "a positive number of minutes"),
    ("API_REFRESH_FREQUENCY_MINUTES", "0.0", "a positive number of minutes"),
    ("API_REFRESH_FREQUENCY_MINUTES", "-5", "a positive number of minutes"),
    ("API_REFRESH_FREQUENCY_MINUTES", "1e-400", "a positive number of minutes"),  # 0.0 as float
    ("API_REFRESH_FREQUENCY_MINUTES", "NaN", "a positive number of minutes"),
    ("API_REFRESH_FREQUENCY_MINUTES", "Infinity", "a positive number of minutes"),
    ("API_REFRESH_FREQUENCY_MINUTES", "hourly", "a positive number of minutes"),
    ("API_REFRESH_FREQUENCY_MINUTES", "1,5", "a positive number of minutes"),
    ("API_REFRESH_FREQUENCY_MINUTES", "5m", "a positive number of minutes"),
    ("PORT", "0", "an integer from 1 to 65535"),
    ("PORT", "65536", "an integer from 1 to 65535"),
    ("PORT", "80a", "an integer from 1 to 65535"),
    ("PORT", "http", "an integer from 1 to 65535"),
    ("UPSTREAM_TIMEOUT_SECONDS", "0", "a positive number of seconds"),
    ("UPSTREAM_TIMEOUT_SECONDS", "-1", "a positive number of seconds"),
    ("UPSTREAM_TIMEOUT_SECONDS", "ten", "a positive number of seconds"),
    ("UPSTREAM_DEADLINE_SECONDS", "0", "a positive number of seconds"),
    ("UPSTREAM_DEADLINE_SECONDS", "inf", "a positive number of seconds"),
    ("UPSTREAM_RATE_PER_SECOND", "-1", "a number >= 0 (0 disables the limit)"),
    ("UPSTREAM_RATE_PER_SECOND", "fast", "a number >= 0 (0 disables the limit)"),
    ("UPSTREAM_RATE_PER_SECOND", "nan", "a number >= 0 (0 disables the limit)"),
    ("UPSTREAM_DAILY_BUDGET", "-1", "an integer >= 0 (0 disables the limit)"),
    ("UPSTREAM_DAILY_BUDGET", "25.5", "an integer >= 0 (0 disables the limit)"),
    ("UPSTREAM_DAILY_BUDGET", "1000000001", "an integer >= 0 (0 disables the limit)"),
    ("MAX_STALE_SECONDS", "-1", "a number of seconds >= 0 (0: no stale)"),
    ("MAX_STALE_SECONDS", "forever", "a number of seconds >= 0 (0: no stale)"),
    ("NEGATIVE_CACHE_SECONDS", "-0.1", "a number of seconds >= 0"),
    ("NEGATIVE_CACHE_SECONDS", "Infinity", "a number of seconds >= 0"),
    ("REFRESH_AHEAD_SECONDS", "-10", "a number of seconds >= 0 (0: off)"),
    ("REFRESH_AHEAD_SECONDS", "soon", "a number of seconds >= 0 (0: off)"),
    ("CACHE_MAX_SYMBOLS", "0", "an integer from 1 to 100000"),
    ("CACHE_MAX_SYMBOLS", "100001", "an integer from 1 to 100000"),
    ("CACHE_MAX_SYMBOLS", "lots", "an integer from 1 to 100000"),
    ("SHUTDOWN_DRAIN_SECONDS", "-5", "a number of seconds >= 0"),
    ("SHUTDOWN_DRAIN_SECONDS", "5s", "a number of seconds >= 0"),
    ("WEB_CONCURRENCY", "0", "an integer from 1 to 64"),
    ("WEB_CONCURRENCY", "65", "an integer from 1 to 64"),
    ("WEB_CONCURRENCY", "auto", "an integer from 1 to 64"),
    ("ENABLE_METRICS", "maybe", "true, 1, yes, false, 0, no or empty"),
    ("SHUTDOWN_TIMEOUT_SECONDS", "0", "a positive number of seconds"),
    ("STALE_WAIT_SECONDS", "-1", "a number of seconds >= 0 (0: answer at once)"),
    ("UPSTREAM_MAX_ATTEMPTS", "0", "an integer from 1 to 10"),
    ("UPSTREAM_MAX_ATTEMPTS", "11", "an integer from 1 to 10"),
    ("MAX_HOLD_OFF_SECONDS", "0", "a positive number of seconds"),
    ("MAX_WAITING_REQUESTS", "0", "an integer from 1 to 1000000"),
    ("MAX_WAITING_REQUESTS", "many", "an integer from 1 to 1000000"),
    ("KEEPALIVE_TIMEOUT_SECONDS", "-1", "a positive number of seconds"),
    ("REFRESH_POLICY", "calendar", "market or fixed"),
    ("REDIS_URL", "http://valkey:6379", "a redis://, rediss:// or unix:// URL"),
    ("REDIS_URL", "redis://", "a redis://, rediss:// or unix:// URL"),
    ("REDIS_FALLBACK_DAILY_BUDGET", "-1", "an integer >= 0"),
    ("REDIS_TIMEOUT_SECONDS", "0", "a positive number of seconds"),
    ("MARKET_DATA_DELAY_MINUTES", "-5", "a number of minutes from 0 to 1440"),
    ("MARKET_DATA_DELAY_MINUTES", "1441", "a number of minutes from 0 to 1440"),
    ("MARKET_DATA_DELAY_MINUTES", "5000000000", "a number of minutes from 0 to 1440"),
    ("ALLOWED_SYMBOLS", "AAPL,,MSFT", "'*' or a comma-separated list of symbols"),
    ("ALLOWED_SYMBOLS", "AAPL;MSFT", "'*' or a comma-separated list of symbols"),
    ("ALLOWED_SYMBOLS", "AAPL MSFT", "'*' or a comma-separated list of symbols"),
    ("ALLOWED_SYMBOLS", "AAPL,TOOLONGSYMBOL", "'*' or a comma-separated list of symbols"),
    ("ALLOWED_SYMBOLS", "*,AAPL", "'*' or a comma-separated list of symbols"),
    ("ALLOWED_SYMBOLS", "AAPL,", "'*' or a comma-separated list of symbols"),
    ("ALLOWED_SYMBOLS", "**", "'*' or a comma-separated list of symbols"),
]


@pytest.mark.parametrize(
    ("variable", "raw", "accepted"),
    [pytest.param(*case, id=f"{case[0]}={case[1]!r}") for case in INVALID],
)
def test_invalid_values_name_the_variable_and_the_accepted_form(
    variable: str, raw: str, accepted: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({variable: raw, "STOCKS_API_KEY": SECRET})

    err = info.value
    assert isinstance(err, ValueError)
    assert err.variable == variable
    message = str(err)
    assert message.startswith(f"{variable}: ")
    assert "expected" in message
    assert accepted in message
    # the key never appears, however the error is printed
    assert SECRET not in message
    assert SECRET not in repr(err)
    assert SECRET not in "".join(traceback.format_exception(err))


def test_every_variable_with_a_form_is_covered_by_an_invalid_case() -> None:
    # STOCKS_API_KEY and REDIS_PASSWORD are free-form, HOST takes any address (checked when
    # listening).
    assert {case[0] for case in INVALID} == set(NAMES) - FREE_FORM


def test_one_error_names_one_variable_even_with_several_bad() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({"NDAYS": "0", "PORT": "0"})

    named = {v for v in ("NDAYS", "PORT") if v in str(info.value)}
    assert named == {info.value.variable}


FLOAT_VARIABLES = [
    "API_REFRESH_FREQUENCY_MINUTES",
    "UPSTREAM_TIMEOUT_SECONDS",
    "UPSTREAM_DEADLINE_SECONDS",
    "UPSTREAM_RATE_PER_SECOND",
    "MAX_STALE_SECONDS",
    "NEGATIVE_CACHE_SECONDS",
    "REFRESH_AHEAD_SECONDS",
    "SHUTDOWN_DRAIN_SECONDS",
]


@pytest.mark.parametrize("variable", FLOAT_VARIABLES)
def test_values_that_overflow_a_float_are_rejected(variable: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({variable: "1e400"})

    assert info.value.variable == variable


def test_a_refresh_frequency_whose_ttl_overflows_is_rejected() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({"API_REFRESH_FREQUENCY_MINUTES": "1e307"})

    assert info.value.variable == "API_REFRESH_FREQUENCY_MINUTES"


# --- the API key ----------------------------------------------------------------------------


def test_the_key_is_read_and_stripped() -> None:
    settings = load_settings({"STOCKS_API_KEY": f"  {SECRET}\n"})

    assert settings.stocks_api_key == SECRET
    assert settings.live


@pytest.mark.parametrize("env", [{}, {"STOCKS_API_KEY": ""}, {"STOCKS_API_KEY": "   "}])
def test_without_a_key_the_service_is_not_live(env: dict[str, str]) -> None:
    settings = load_settings(env)

    assert settings.stocks_api_key == ""
    assert not settings.live


def test_the_key_is_not_in_the_settings_repr() -> None:
    settings = load_settings({"STOCKS_API_KEY": SECRET, "SYMBOL": "IBM"})

    assert SECRET not in repr(settings)
    assert SECRET not in str(settings)
    assert SECRET not in f"{settings}"
    assert "symbol='IBM'" in repr(settings)  # the repr is still useful for everything else


def test_the_shared_store_password_is_in_no_repr_nor_error() -> None:
    settings = load_settings(
        {"REDIS_URL": f"redis://:{SECRET}@valkey:6379/0", "REDIS_PASSWORD": SECRET}
    )

    assert settings.redis_password == SECRET
    assert SECRET not in repr(settings)
    with pytest.raises(ConfigError) as info:
        load_settings({"REDIS_URL": f"http://:{SECRET}@valkey:6379/0"})
    assert SECRET not in "".join(traceback.format_exception(info.value))


def test_live_is_true_for_any_non_empty_key() -> None:
    assert Settings(stocks_api_key="x").live
    assert not Settings().live


# --- ENABLE_METRICS -------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["true", "TRUE", "True", "1", "yes", "YES", "Yes", " true "])
def test_enable_metrics_true_values(raw: str) -> None:
    assert load_settings({"ENABLE_METRICS": raw}).enable_metrics is True


@pytest.mark.parametrize("raw", ["false", "FALSE", "0", "no", "No", "", "  "])
def test_enable_metrics_false_values(raw: str) -> None:
    assert load_settings({"ENABLE_METRICS": raw}).enable_metrics is False


@pytest.mark.parametrize("raw", ["maybe", "on", "off", "y", "t", "2", "enabled", "truee"])
def test_enable_metrics_refuses_anything_else(raw: str) -> None:
    with pytest.raises(ConfigError, match="ENABLE_METRICS: invalid value; expected true, 1, yes"):
        load_settings({"ENABLE_METRICS": raw})


def test_a_deadline_shorter_than_one_attempt_is_refused() -> None:
    env = {"UPSTREAM_TIMEOUT_SECONDS": "10", "UPSTREAM_DEADLINE_SECONDS": "5"}
    with pytest.raises(ConfigError) as refused:
        load_settings(env)
    assert refused.value.variable == "UPSTREAM_DEADLINE_SECONDS"
    assert "at least UPSTREAM_TIMEOUT_SECONDS (10 s)" in str(refused.value)
    assert load_settings({**env, "UPSTREAM_DEADLINE_SECONDS": "10"}).upstream_deadline_seconds == 10


# --- ALLOWED_SYMBOLS and admits() -----------------------------------------------------------


@pytest.mark.parametrize("raw", ["*", " * ", "\t*\n"])
def test_allowed_symbols_star_admits_any_symbol(raw: str) -> None:
    settings = load_settings({"ALLOWED_SYMBOLS": raw})

    assert settings.allow_any_symbol is True
    assert settings.allowed_symbols == frozenset()
    assert settings.admits("MSFT")
    assert settings.admits("ZZZZ")
    assert settings.admits("BRK.B")


def test_allowed_symbols_list_is_upper_cased_and_trimmed() -> None:
    settings = load_settings({"ALLOWED_SYMBOLS": "aapl, Ibm ,brk.b,GOOGL"})

    assert settings.allowed_symbols == frozenset({"AAPL", "IBM", "BRK.B", "GOOGL"})
    assert settings.allow_any_symbol is False


def test_allowed_symbols_single_entry_and_repeats() -> None:
    assert load_settings({"ALLOWED_SYMBOLS": "nvda"}).allowed_symbols == frozenset({"NVDA"})
    assert load_settings({"ALLOWED_SYMBOLS": "IBM,ibm"}).allowed_symbols == frozenset({"IBM"})


def test_admits_symbol_listed_or_default_only() -> None:
    settings = load_settings({"SYMBOL": "tsla", "ALLOWED_SYMBOLS": "aapl,ibm"})

    assert settings.admits("TSLA")  # SYMBOL always
    assert settings.admits("AAPL")
    assert settings.admits("IBM")
    assert not settings.admits("MSFT")
    assert not settings.admits("GOOGL")


def test_by_default_only_symbol_is_admitted() -> None:
    settings = load_settings({})

    assert settings.admits("MSFT")
    assert not settings.admits("AAPL")
    assert not settings.admits("msft")  # callers pass the upper-case form


def test_symbol_is_admitted_even_when_not_listed() -> None:
    settings = Settings(symbol="IBM", allowed_symbols=frozenset({"AAPL"}))

    assert settings.admits("IBM")
    assert settings.admits("AAPL")
    assert not settings.admits("ORCL")


# --- parse_symbol ---------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [("msft", "MSFT"), ("Brk.b", "BRK.B"), ("A", "A")])
def test_parse_symbol_upper_cases(raw: str, expected: str) -> None:
    assert parse_symbol(raw) == expected


@pytest.mark.parametrize("raw", ["ABCDEFGHIJK", "A B", "A/B", "A\n", "ü"])
def test_parse_symbol_rejects_malformed(raw: str) -> None:
    with pytest.raises(ValueError, match=re.escape(raw)):  # the error carries the rejected text
        parse_symbol(raw)
