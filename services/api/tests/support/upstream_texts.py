"""The upstream's own words: Alpha Vantage's notices, each class with its real phrasing.

Its wording changed in 2018, 2020, 2024 and 2025 (see docs/alphavantage.md in the shared docs),
and the service must recognise every class by key and phrase, so the texts are kept here once,
word for word, for the parser's tests, the fault matrix and the fake upstream. `KEY` is the API
key a notice quotes back; nothing of it may reach the service's messages or logs.
"""

from __future__ import annotations

KEY = "SECRETKEY42"

INVALID_CALL = (
    "Invalid API call. Please retry or visit the documentation "
    "(https://www.alphavantage.co/documentation/) for TIME_SERIES_DAILY."
)
BAD_KEY = (
    "the parameter apikey is invalid or missing. Please claim your free API key on "
    "(https://www.alphavantage.co/support/#api-key). It should take less than 20 seconds."
)
DAILY_LIMIT = (
    "Thank you for using Alpha Vantage! Our standard API rate limit is 25 requests per day. "
    "Please subscribe to any of the premium plans at https://www.alphavantage.co/premium/ to "
    "instantly remove all daily rate limits."
)
DAILY_LIMIT_2024 = (
    f"We have detected your API key as {KEY} and our standard API rate limit is 25 "
    "requests per day. Please subscribe to any of the premium plans at "
    "https://www.alphavantage.co/premium/ to instantly remove all daily rate limits."
)
BURST_LIMIT = (
    f"We have detected your API key as {KEY} and our standard API rate limit is 25 "
    "requests per day. Please consider spreading out your free API requests more sparingly "
    "(1 request per second)."
)
BURST_2025 = (
    "Burst pattern detected. Please consider spreading out your free API requests more "
    "sparingly (1 request per second). You may subscribe to any of the premium plans at "
    "https://www.alphavantage.co/premium/ to instantly unlock all premium endpoints"
)
OLD_NOTE = (
    "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute "
    "and 500 calls per day. Please visit https://www.alphavantage.co/premium/ if you would like "
    "to target a higher API call frequency."
)
PREMIUM_ENDPOINT = (
    "Thank you for using Alpha Vantage! This is a premium endpoint. You may subscribe to any of "
    "the premium plans at https://www.alphavantage.co/premium/ to instantly unlock all premium "
    "endpoints"
)
PREMIUM_OUTPUTSIZE = (
    "The **outputsize=full** parameter value is a premium feature for the TIME_SERIES_DAILY "
    "endpoint. You may subscribe to any of the premium plans at "
    "https://www.alphavantage.co/premium/ to instantly unlock all premium features"
)
DEMO_KEY = (
    "The **demo** API key is for demo purposes only. Please claim your free API key at "
    "(https://www.alphavantage.co/support/#api-key) to explore our full API offerings. It takes "
    "fewer than 20 seconds."
)
#: Not one of the upstream's: a notice of a kind the service has never seen.
UNKNOWN_NOTICE = (
    "Thank you for using Alpha Vantage! The service is under scheduled maintenance; "
    "please check back later."
)

# The whole bodies, under the key the upstream sends each notice with.
INVALID_CALL_BODY = {"Error Message": INVALID_CALL}
BAD_KEY_BODY = {"Error Message": BAD_KEY}
DAILY_LIMIT_BODY = {"Information": DAILY_LIMIT}
BURST_LIMIT_BODY = {"Information": BURST_LIMIT}
OLD_NOTE_BODY = {"Note": OLD_NOTE}
PREMIUM_BODY = {"Information": PREMIUM_ENDPOINT}
DEMO_KEY_BODY = {"Information": DEMO_KEY}
