"""HTTP caching of `/ndays`: a strong ETag from the body, Last-Modified from the fetch, 304 on
If-None-Match or If-Modified-Since, and RFC 5861 windows in Cache-Control."""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib

import pytest

from stock_ticker.config import Settings
from stock_ticker.domain.market import NEW_YORK
from tests.conftest import ClientFactory, live_settings
from tests.support import builders
from tests.support.builders import series_body
from tests.support.clock import FakeClock
from tests.support.fake_upstream import FakeAlphaVantage, Reply

Upstream = tuple[FakeAlphaVantage, str]
CLOSES = ["10", "11", "12", "13", "14", "15", "16", "17"]


async def test_every_200_carries_a_strong_etag_of_its_body_and_last_modified(
    make_client: ClientFactory,
) -> None:
    client = await make_client(Settings())
    three = await client.get("/ndays?ndays=3")
    body = await three.read()
    etag = three.headers["ETag"]
    assert etag == f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'  # strong, quoted
    assert not etag.startswith("W/")
    again = await client.get("/ndays?ndays=3")
    assert again.headers["ETag"] == etag  # the same bytes, the same tag
    four = await client.get("/ndays?ndays=4")
    assert four.headers["ETag"] != etag
    modified = email.utils.parsedate_to_datetime(three.headers["Last-Modified"])
    assert modified.tzinfo is not None
    assert again.headers["Last-Modified"] == three.headers["Last-Modified"]  # when fetched


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize(
    "if_none_match",
    ["{etag}", "W/{etag}", '"other", {etag}', "*"],
    ids=["exact", "weak", "in-a-list", "any"],
)
async def test_a_matching_if_none_match_is_304_with_the_same_headers_and_no_body(
    make_client: ClientFactory, method: str, if_none_match: str
) -> None:
    client = await make_client(Settings())
    first = await client.get("/ndays")
    etag = first.headers["ETag"]
    headers = {"If-None-Match": if_none_match.format(etag=etag), "X-Request-ID": "cond-1"}
    response = await client.request(method, "/ndays", headers=headers)
    assert response.status == 304
    assert await response.read() == b""
    assert response.headers["ETag"] == etag
    assert response.headers["X-Cache"] == "HIT"
    assert response.headers["X-Request-ID"] == "cond-1"
    assert response.headers["Cache-Control"].startswith("max-age=")
    assert response.headers["Last-Modified"] == first.headers["Last-Modified"]


async def test_a_different_etag_gets_the_full_answer(make_client: ClientFactory) -> None:
    client = await make_client(Settings())
    await client.get("/ndays")
    response = await client.get("/ndays", headers={"If-None-Match": '"not-this-one"'})
    assert response.status == 200
    assert (await response.json())["symbol"] == "MSFT"


async def test_if_modified_since_counts_only_without_if_none_match(
    make_client: ClientFactory,
) -> None:
    client = await make_client(Settings())
    first = await client.get("/ndays")
    modified = first.headers["Last-Modified"]
    since = {"If-Modified-Since": modified}
    assert (await client.get("/ndays", headers=since)).status == 304
    earlier = email.utils.formatdate(
        email.utils.parsedate_to_datetime(modified).timestamp() - 1, usegmt=True
    )
    assert (await client.get("/ndays", headers={"If-Modified-Since": earlier})).status == 200
    both = {**since, "If-None-Match": '"not-this-one"'}  # If-None-Match decides
    assert (await client.get("/ndays", headers=both)).status == 200
    junk = {"If-Modified-Since": "yesterday"}
    assert (await client.get("/ndays", headers=junk)).status == 200


async def test_cache_control_announces_the_services_own_stale_windows(
    make_client: ClientFactory, fake_upstream: Upstream, clock: FakeClock
) -> None:
    fake, host = fake_upstream
    fake.script("MSFT", Reply(series_body("MSFT", CLOSES)), Reply(status=500))
    settings = live_settings(
        host,
        cache_ttl_seconds=60,
        upstream_deadline_seconds=7.5,
        max_stale_seconds=3600,
        upstream_max_attempts=1,
    )
    client = await make_client(settings)
    fresh = await client.get("/ndays")
    assert fresh.headers["Cache-Control"] == (
        "max-age=60, stale-while-revalidate=8, stale-if-error=3600"
    )
    clock.advance(61)
    stale = await client.get("/ndays")
    assert stale.headers["X-Cache"] == "STALE"
    assert stale.headers["Cache-Control"] == (
        "max-age=0, stale-while-revalidate=8, stale-if-error=3600"
    )
    assert stale.headers["ETag"] == fresh.headers["ETag"]  # the same data, the same tag
    assert stale.headers["Last-Modified"] == fresh.headers["Last-Modified"]
    assert (
        await client.get("/ndays", headers={"If-None-Match": fresh.headers["ETag"]})
    ).status == 304


async def test_under_the_market_policy_max_age_runs_to_the_next_bar_and_a_304_says_the_same(
    make_client: ClientFactory, fake_upstream: Upstream, clock: FakeClock
) -> None:
    """Friday's bar on Saturday at noon: fresh until Monday's close plus the delay, 52.5 hours,
    told to clients as they ask; a 304 carries the same Cache-Control as the 200."""
    fake, host = fake_upstream
    fridays = ["2026-12-04", "2026-12-03", "2026-12-02", "2026-12-01", "2026-11-30"]
    rows = {day: builders.row(close) for day, close in zip(fridays, CLOSES, strict=False)}
    fake.script(
        "MSFT", Reply(builders.daily_doc(rows, meta_data=builders.meta("MSFT", fridays[0])))
    )
    saturday_noon = dt.datetime(2026, 12, 5, 12, tzinfo=NEW_YORK).timestamp()
    started = clock.now
    settings = live_settings(host, refresh_policy="market")
    client = await make_client(settings, wall=lambda: saturday_noon + clock.now - started)
    first = await client.get("/ndays")
    assert first.headers["X-Cache"] == "MISS"
    assert first.headers["Cache-Control"].split(",")[0] == "max-age=189000"
    clock.advance(3600)
    hit = await client.get("/ndays")
    assert hit.headers["X-Cache"] == "HIT"
    assert hit.headers["Cache-Control"].split(",")[0] == "max-age=185400"
    for condition in (
        {"If-None-Match": hit.headers["ETag"]},
        {"If-Modified-Since": hit.headers["Last-Modified"]},
    ):
        not_modified = await client.get("/ndays", headers=condition)
        assert not_modified.status == 304
        for header in ("Cache-Control", "ETag", "Last-Modified", "X-Cache"):
            assert not_modified.headers[header] == hit.headers[header], header
    assert fake.total_calls == 1
