"""The API keys page in a real browser, in both languages: the secret once, then revoked."""
from __future__ import annotations

import re

import pytest

from .conftest import browser_sign_in, screenshot

pytestmark = pytest.mark.browser
JA_HEADING = "API キー"


def test_create_see_the_secret_once_and_revoke(live_server, demo, new_page):
    page = new_page(locale="en-US")
    browser_sign_in(page, live_server)
    page.get_by_role("link", name="API keys").click()
    page.wait_for_url(f"{live_server}/api-keys")
    page.get_by_label("Allowed client addresses (optional)").fill("192.0.2.0/24")
    with page.expect_navigation():
        page.get_by_role("button", name="Create key").click()
    secrets = re.findall(r"\b[A-Za-z0-9_-]{43}\b", page.locator("main").inner_text())
    assert len(secrets) == 1, "the secret is shown once, on the page after creation"
    secret = secrets[0]
    screenshot(page, "api-key-created")

    page.goto(f"{live_server}/api-keys")
    assert secret not in page.content()
    assert "192.0.2.0/24" in page.locator("table.api-keys").inner_text()
    with page.expect_navigation():
        page.locator("form.revoke-key button").first.click()
    assert "Revoked" in page.locator("table.api-keys").inner_text()
    assert secret not in page.content()


def test_the_page_in_japanese(live_server, demo, new_page):
    page = new_page(locale="ja-JP")
    browser_sign_in_ja(page, live_server)
    page.goto(f"{live_server}/api-keys")
    assert page.evaluate("document.documentElement.lang") == "ja"
    assert page.get_by_role("heading", level=1).inner_text() == JA_HEADING
    main_text = page.locator("main").inner_text()
    assert not re.search(r"\b(Create|Permissions|Your keys|Allowed)\b", main_text)
    screenshot(page, "api-keys-ja")


def browser_sign_in_ja(page, live_server):
    page.goto(f"{live_server}/login")
    # The site's language here is English: a Japanese browser is asked, and says yes.
    with page.expect_navigation():
        page.get_by_role("region", name="日本語で表示しますか?").get_by_role("button", name="はい").click()
    page.locator("#email").fill("demo@example.com")
    page.locator("#password").fill("demopass")
    with page.expect_navigation():
        page.locator("form.login-form button[type=submit]").click()
