"""Parsing and classifying Alpha Vantage `TIME_SERIES_DAILY` bodies, with the real wording.

The texts are the upstream's own (tests/support/upstream_texts.py): its wording changed in 2018,
2020, 2024 and 2025, and every class must be recognised by key and phrase.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from stock_ticker.domain.errors import (
    MalformedResponse,
    UnknownSymbol,
    UpstreamError,
    UpstreamRejected,
    UpstreamThrottled,
)
from stock_ticker.upstream.parsing import (
    THROTTLE_RETRY_AFTER_SECONDS,
    classify_error,
    parse_daily_body,
    parse_daily_document,
)
from tests.support.builders import FIELDS, daily_doc, day, encode, meta, row
from tests.support.upstream_texts import (
    BAD_KEY,
    BURST_2025,
    BURST_LIMIT,
    DAILY_LIMIT,
    DAILY_LIMIT_2024,
    DEMO_KEY,
    INVALID_CALL,
    KEY,
    OLD_NOTE,
    PREMIUM_ENDPOINT,
    PREMIUM_OUTPUTSIZE,
    UNKNOWN_NOTICE,
)

THROTTLES = [
    pytest.param(DAILY_LIMIT, id="daily-limit"),
    pytest.param(DAILY_LIMIT_2024, id="daily-limit-2024"),
    pytest.param(BURST_LIMIT, id="burst"),
    pytest.param(BURST_2025, id="burst-2025"),
    pytest.param(OLD_NOTE, id="old-call-frequency"),
]


def raises_from(body: dict[str, Any]) -> UpstreamError:
    """Parse `body` as raw bytes; return the error it raised (and check classify_error agrees)."""
    with pytest.raises(UpstreamError) as info:
        parse_daily_body(encode(body), "MSFT")
    assert type(classify_error(body)) is type(info.value)
    return info.value


# --- success --------------------------------------------------------------------------------

DOC_EXAMPLE = b"""
{"Meta Data": {"1. Information": "Daily Prices (open, high, low, close) and Volumes",
               "2. Symbol": "MSFT", "3. Last Refreshed": "2026-11-27",
               "4. Output Size": "Compact", "5. Time Zone": "US/Eastern"},
 "Time Series (Daily)": {"2026-11-27": {"1. open": "421.1000", "2. high": "424.8800",
                                       "3. low": "419.5000", "4. close": "423.4600",
                                       "5. volume": "18234000"},
                         "2026-11-26": {"1. open": "418.0000", "2. high": "421.9900",
                                       "3. low": "417.2500", "4. close": "420.7700",
                                       "5. volume": "20111000"}}}
"""


def test_parses_the_documented_success_body() -> None:
    s = parse_daily_body(DOC_EXAMPLE, "MSFT")

    assert s.symbol == "MSFT"
    assert s.last_refreshed == day("2026-11-27")
    assert len(s.bars) == 2
    newest = s.bars[0]
    assert newest.date == day("2026-11-27")
    assert (newest.open, newest.high, newest.low, newest.close) == (
        Decimal("421.1000"),
        Decimal("424.8800"),
        Decimal("419.5000"),
        Decimal("423.4600"),
    )
    assert newest.volume == 18234000
    assert isinstance(newest.volume, int)
    assert all(isinstance(p, Decimal) for p in (newest.open, newest.high, newest.low))
    assert s.bars[1].close == Decimal("420.7700")
    assert s.bars[1].volume == 20111000


def test_series_is_labelled_with_the_symbol_asked_for() -> None:
    assert parse_daily_body(DOC_EXAMPLE, "BRK.B").symbol == "BRK.B"


def test_unsorted_dates_come_out_newest_first_with_their_own_rows() -> None:
    rows = {
        "2026-11-25": row("25.0000"),
        "2026-11-27": row("27.0000"),
        "2026-10-30": row("30.0000"),
        "2026-11-26": row("26.0000"),
    }

    s = parse_daily_body(encode(daily_doc(rows)), "MSFT")

    assert [b.date.isoformat() for b in s.bars] == [
        "2026-11-27",
        "2026-11-26",
        "2026-11-25",
        "2026-10-30",
    ]
    assert [b.close for b in s.bars] == [Decimal(n) for n in ("27", "26", "25", "30")]


def test_zero_price_and_zero_volume_are_accepted() -> None:
    s = parse_daily_body(encode(daily_doc({"2026-11-27": row("0.0000", volume="0")})), "X")

    assert s.bars[0].close == 0
    assert s.bars[0].volume == 0


def test_a_notice_next_to_a_series_does_not_hide_the_data() -> None:
    doc = daily_doc({"2026-11-27": row("1.0000")})
    doc["Information"] = UNKNOWN_NOTICE

    assert parse_daily_body(encode(doc), "MSFT").bars[0].close == 1


def test_parse_daily_document_takes_a_decoded_mapping() -> None:
    s = parse_daily_document(daily_doc({"2026-11-27": row("5.5000")}), "MSFT")

    assert s.bars[0].close == Decimal("5.5")


# --- last refreshed -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["2026-11-28", "2026-11-28 16:00:00", "2026-11-28 16:00:01.123"],
    ids=["date", "date-and-time", "date-and-fractional-time"],
)
def test_last_refreshed_comes_from_meta_data(value: str) -> None:
    # one day after the newest bar, so the meta date and the fallback cannot be confused
    doc = daily_doc({"2026-11-27": row()}, meta_data=meta(last_refreshed=value))

    assert parse_daily_body(encode(doc), "MSFT").last_refreshed == day("2026-11-28")


@pytest.mark.parametrize(
    "meta_data",
    [
        pytest.param("absent", id="no-meta-data"),
        pytest.param({"2. Symbol": "MSFT"}, id="no-last-refreshed"),
        pytest.param(meta(last_refreshed="yesterday"), id="garbage-text"),
        pytest.param(meta(last_refreshed=""), id="empty-text"),
        pytest.param(meta(last_refreshed=None), id="null"),
        pytest.param(meta(last_refreshed=42), id="number"),
        pytest.param(meta(last_refreshed="2026-13-45"), id="impossible-date"),
        pytest.param(meta(last_refreshed={"date": "2026-11-28"}), id="object"),
        pytest.param("2026-11-28", id="meta-is-a-string"),
        pytest.param(["2026-11-28"], id="meta-is-a-list"),
    ],
)
def test_missing_or_garbage_meta_falls_back_to_the_newest_bar(meta_data: object) -> None:
    rows = {"2026-11-20": row(), "2026-11-26": row(), "2026-11-24": row()}
    doc = daily_doc(rows, meta_data=meta_data)
    if meta_data == "absent":
        del doc["Meta Data"]

    assert parse_daily_body(encode(doc), "MSFT").last_refreshed == day("2026-11-26")


# --- error classes, by the upstream's real wording ------------------------------------------


def test_invalid_api_call_is_an_unknown_symbol() -> None:
    err = raises_from({"Error Message": INVALID_CALL})

    assert isinstance(err, UnknownSymbol)
    assert not err.transient


def test_any_other_error_message_is_an_unknown_symbol() -> None:
    assert isinstance(raises_from({"Error Message": "Something else went wrong."}), UnknownSymbol)


def test_invalid_or_missing_apikey_is_rejected() -> None:
    err = raises_from({"Error Message": BAD_KEY})

    assert isinstance(err, UpstreamRejected)
    assert "key" in err.detail


@pytest.mark.parametrize("key", ["Information", "Note"])
@pytest.mark.parametrize("text", THROTTLES)
def test_throttle_texts_are_throttles_under_either_key(key: str, text: str) -> None:
    err = raises_from({key: text})

    assert isinstance(err, UpstreamThrottled)  # not "premium", although the text says premium
    assert err.retry_after == THROTTLE_RETRY_AFTER_SECONDS
    assert err.retry_after is not None
    assert err.retry_after > 0


@pytest.mark.parametrize(
    "text",
    [
        "Our standard API rate limit is 25 requests per day.",
        "You have exceeded 25 requests per day.",
        "Our standard API call frequency is 5 calls per minute.",
        "Please make no more than 1 request per second.",
        "Please make no more than 5 calls per minute.",
        "Please consider spreading out your free API requests more sparingly.",
        "Please lower your API call frequency.",
        "You have hit the rate limit of your key.",
    ],
)
def test_each_throttle_phrase_alone_is_enough(text: str) -> None:
    assert isinstance(raises_from({"Information": text}), UpstreamThrottled)


def test_throttle_is_recognised_case_insensitively() -> None:
    assert isinstance(raises_from({"Note": DAILY_LIMIT.upper()}), UpstreamThrottled)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(PREMIUM_ENDPOINT, id="premium-endpoint"),
        pytest.param(PREMIUM_OUTPUTSIZE, id="outputsize-full"),
    ],
)
def test_premium_texts_are_rejected_not_throttled(text: str) -> None:
    err = raises_from({"Information": text})

    assert isinstance(err, UpstreamRejected)
    assert "premium" in err.detail
    assert not err.transient


def test_demo_key_text_is_rejected() -> None:
    err = raises_from({"Information": DEMO_KEY})

    assert isinstance(err, UpstreamRejected)
    assert "key" in err.detail


@pytest.mark.parametrize(
    ("key", "text"),
    [
        ("Information", "The **demo** token is for demo purposes only."),
        ("Information", "Please claim your free apikey."),
        ("Note", "This API key is not valid for this symbol."),
        ("Error Message", "The demo key only serves IBM."),
        ("Error Message", "Invalid API key."),
    ],
)
def test_each_bad_key_phrase_alone_is_enough(key: str, text: str) -> None:
    # the wording changes over the years: "demo", "apikey" or "api key" alone must do
    assert isinstance(raises_from({key: text}), UpstreamRejected)


@pytest.mark.parametrize("key", ["Information", "Note"])
def test_an_unknown_notice_is_malformed(key: str) -> None:
    err = raises_from({key: UNKNOWN_NOTICE})

    assert isinstance(err, MalformedResponse)


@pytest.mark.parametrize(
    "body",
    [pytest.param({}, id="empty-object"), pytest.param({"Meta Data": meta()}, id="meta-only")],
)
def test_a_body_without_series_or_notice_is_malformed(body: dict[str, Any]) -> None:
    err = raises_from(body)

    assert isinstance(err, MalformedResponse)
    assert "Time Series (Daily)" in err.detail


@pytest.mark.parametrize(
    "body",
    [
        {"Information": DAILY_LIMIT_2024},
        {"Information": BURST_LIMIT},
        {"Error Message": BAD_KEY + f" Key used: {KEY}"},
    ],
)
def test_error_details_never_repeat_the_upstream_text(body: dict[str, Any]) -> None:
    # The throttle text quotes the API key back; nothing of it may reach our messages/logs.
    err = raises_from(body)

    assert KEY not in str(err)
    assert KEY not in repr(err)


def test_classify_error_returns_rather_than_raises() -> None:
    err = classify_error({"Note": OLD_NOTE})

    assert isinstance(err, UpstreamThrottled)


# --- malformed bodies -----------------------------------------------------------------------

GOOD = encode(daily_doc({"2026-11-27": row("1.0000"), "2026-11-26": row("2.0000")}))


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(
            b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
            b"<body><h1>502 Bad Gateway</h1></body></html>",
            id="html",
        ),
        pytest.param(GOOD[: len(GOOD) // 2], id="truncated-json"),
        pytest.param(GOOD[:-1], id="missing-last-brace"),
        pytest.param(b"", id="empty-body"),
        pytest.param(b"{'Meta Data': {}}", id="single-quotes"),
        pytest.param(b'{"Information": "caf\xe9 \xff"}', id="invalid-utf8"),
        pytest.param(b"\xff\xfe\x00\x00garbage", id="binary"),
    ],
)
def test_not_json_is_malformed(raw: bytes) -> None:
    with pytest.raises(MalformedResponse, match="not JSON"):
        parse_daily_body(raw, "MSFT")


@pytest.mark.parametrize(
    "raw", [b"[]", b'[{"Time Series (Daily)": {}}]', b'"text"', b"null", b"42", b"true"]
)
def test_json_that_is_not_an_object_is_malformed(raw: bytes) -> None:
    with pytest.raises(MalformedResponse, match="not an object"):
        parse_daily_body(raw, "MSFT")


@pytest.mark.parametrize(
    "series",
    [
        pytest.param({}, id="empty-object"),
        pytest.param([], id="empty-list"),
        pytest.param([row()], id="list-of-rows"),
        pytest.param("2026-11-27", id="string"),
        pytest.param(None, id="null"),
        pytest.param(0, id="zero"),
    ],
)
def test_empty_or_non_object_series_is_malformed(series: object) -> None:
    body = {"Meta Data": meta(), "Time Series (Daily)": series}

    with pytest.raises(MalformedResponse, match="empty"):
        parse_daily_body(encode(body), "MSFT")


@pytest.mark.parametrize("field", FIELDS)
def test_a_row_missing_a_field_is_malformed(field: str) -> None:
    broken = row("1.0000")
    del broken[field]
    body = daily_doc({"2026-11-27": row("2.0000"), "2026-11-26": broken})

    with pytest.raises(MalformedResponse, match="does not parse"):
        parse_daily_body(encode(body), "MSFT")


@pytest.mark.parametrize("value", [None, "1.0000", ["1.0000"], 3])
def test_a_row_that_is_not_an_object_is_malformed(value: object) -> None:
    body = daily_doc({"2026-11-27": value})

    with pytest.raises(MalformedResponse, match="does not parse"):
        parse_daily_body(encode(body), "MSFT")


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("value", ["abc", "", "1,234.00", "12.3.4", "$1.00", None, [], {}])
def test_non_numeric_values_are_malformed(field: str, value: object) -> None:
    broken: dict[str, object] = dict(row("1.0000"))
    broken[field] = value

    with pytest.raises(MalformedResponse, match="does not parse"):
        parse_daily_body(encode(daily_doc({"2026-11-27": broken})), "MSFT")


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("value", ["-0.0100", "-1", "-18234000"])
def test_negative_values_are_malformed(field: str, value: str) -> None:
    broken = row("1.0000")
    broken[field] = value

    with pytest.raises(MalformedResponse, match="out of range"):
        parse_daily_body(encode(daily_doc({"2026-11-27": broken})), "MSFT")


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("value", ["NaN", "nan", "sNaN", "Infinity", "-Infinity", "inf"])
def test_nan_and_infinity_strings_are_malformed(field: str, value: str) -> None:
    broken = row("1.0000")
    broken[field] = value

    with pytest.raises(MalformedResponse, match="out of range"):
        parse_daily_body(encode(daily_doc({"2026-11-27": broken})), "MSFT")


@pytest.mark.parametrize("token", [b"NaN", b"Infinity", b"-Infinity"])
def test_bare_json_nan_and_infinity_are_malformed(token: bytes) -> None:
    # Python's json accepts these non-standard tokens; the parser must still refuse them.
    raw = (
        b'{"Time Series (Daily)": {"2026-11-27": {"1. open": "1", "2. high": "1", '
        b'"3. low": "1", "4. close": ' + token + b', "5. volume": "10"}}}'
    )

    with pytest.raises(MalformedResponse, match="out of range"):
        parse_daily_body(raw, "MSFT")


@pytest.mark.parametrize("volume", ["100.5", "0.1", "18234000.0001"])
def test_fractional_volume_is_malformed(volume: str) -> None:
    body = daily_doc({"2026-11-27": row("1.0000", volume=volume)})

    with pytest.raises(MalformedResponse, match="out of range"):
        parse_daily_body(encode(body), "MSFT")


def test_a_whole_volume_written_with_decimals_is_accepted() -> None:
    s = parse_daily_body(encode(daily_doc({"2026-11-27": row(volume="1000.00")})), "MSFT")

    assert s.bars[0].volume == 1000
    assert isinstance(s.bars[0].volume, int)


@pytest.mark.parametrize(
    "date_key", ["2026-13-01", "2026-02-30", "yesterday", "", "27/11/2026", "2026-11-27T25:00"]
)
def test_a_bad_date_key_is_malformed(date_key: str) -> None:
    body = daily_doc({"2026-11-27": row(), date_key: row()})

    with pytest.raises(MalformedResponse, match="does not parse"):
        parse_daily_body(encode(body), "MSFT")


def test_duplicate_date_keys_are_malformed() -> None:
    # A dict cannot hold a duplicate key, so write the body by hand, as a broken upstream would.
    raw = (
        b'{"Meta Data": {"3. Last Refreshed": "2026-11-27"}, "Time Series (Daily)": {'
        b'"2026-11-27": {"1. open": "1", "2. high": "1", "3. low": "1", "4. close": "1", '
        b'"5. volume": "1"}, '
        b'"2026-11-27": {"1. open": "2", "2. high": "2", "3. low": "2", "4. close": "2", '
        b'"5. volume": "2"}}}'
    )

    with pytest.raises(MalformedResponse, match="repeated") as info:
        parse_daily_body(raw, "MSFT")

    assert "2026-11-27" in info.value.detail


def test_a_duplicate_key_detail_stays_short() -> None:
    long_key = "k" * 10_000
    raw = json.dumps({"x": 1}).replace('"x": 1', f'"{long_key}": 1, "{long_key}": 2').encode()

    with pytest.raises(MalformedResponse) as info:
        parse_daily_body(raw, "MSFT")

    assert len(info.value.detail) < 100


def test_one_bad_row_spoils_the_whole_body() -> None:
    rows = {f"2026-11-{d:02d}": row(f"{d}.0000") for d in range(2, 28)}
    rows["2026-11-15"] = row("oops")

    with pytest.raises(MalformedResponse):
        parse_daily_body(encode(daily_doc(rows)), "MSFT")


def test_malformed_errors_do_not_chain_the_decoder_exception() -> None:
    # `from None`: a log of the error shows one clean message, not a json/decimal traceback.
    with pytest.raises(MalformedResponse) as info:
        parse_daily_body(b"<html>", "MSFT")

    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


def test_a_repeated_key_that_is_not_a_date_is_not_echoed() -> None:
    raw = b'{"Note": "x", "Note": "apikey=SECRET"}'
    with pytest.raises(MalformedResponse, match="repeated a key") as info:
        parse_daily_body(raw, "MSFT")
    assert "SECRET" not in info.value.detail
    assert "Note" not in info.value.detail


@pytest.mark.parametrize(
    ("meta", "time_zone"),
    [
        ({"5. Time Zone": "US/Eastern"}, "US/Eastern"),
        ({"5. Time Zone": " US/Eastern "}, "US/Eastern"),
        ({"5. Time Zone": ""}, None),
        ({"5. Time Zone": 5}, None),
        ({}, None),
        ("not an object", None),
    ],
)
def test_the_series_keeps_the_upstreams_time_zone(meta: object, time_zone: str | None) -> None:
    body = {
        "Meta Data": meta,
        "Time Series (Daily)": {
            "2026-11-27": {
                "1. open": "1",
                "2. high": "1",
                "3. low": "1",
                "4. close": "1",
                "5. volume": "1",
            }
        },
    }
    assert parse_daily_document(body, "MSFT").time_zone == time_zone
