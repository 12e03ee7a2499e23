"""The Swagger page in a real browser (Debian chromium driven by Playwright) through the ingress."""

from __future__ import annotations

import json

import pytest
from conftest import Nginx
from support import ARTIFACTS
from tests.support.programs import require

# The flags infra-tooling.md found necessary here: no sandbox as root, and no background
# connections (this machine's closed network refuses them, many at a time).
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    chromium = require("chromium", "/usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS, headless=True)
        yield b
        b.close()


def test_swagger_try_it_out_calls_the_api_through_the_prefix(browser, nginx: Nginx) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    failed: list[str] = []
    page.on("requestfailed", lambda req: failed.append(req.url))
    try:
        page.goto(f"{nginx.url}/stock-ticker/docs", wait_until="networkidle")
        operation = page.locator(".opblock-get", has=page.locator('[data-path="/ndays"]'))
        operation.wait_for(timeout=15_000)
        assert page.locator(".servers select option").first.inner_text() == "/stock-ticker"

        operation.locator(".opblock-summary").click()
        operation.get_by_role("button", name="Try it out").click()
        operation.locator('tr[data-param-name="ndays"] input').fill("3")
        with page.expect_response(lambda r: "/ndays" in r.url) as caught:
            operation.get_by_role("button", name="Execute").click()
        response = caught.value
        assert response.url.startswith(f"{nginx.url}/stock-ticker/ndays?"), response.url
        assert response.status == 200
        assert json.loads(response.body())["ndays"] == 3

        live = operation.locator(".live-responses-table tr.response .response-col_status").first
        live.wait_for(timeout=10_000)
        assert live.inner_text().strip() == "200"
        assert "/stock-ticker/ndays?" in operation.locator(".request-url").inner_text()
        operation.locator(".live-responses-table").scroll_into_view_if_needed()
    finally:
        page.screenshot(path=str(ARTIFACTS / "swagger-try-it-out.png"), full_page=True)
        page.close()
    assert not errors, errors
    assert not failed, failed
