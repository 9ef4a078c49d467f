"""The language prompt and switcher in a real browser whose own language is Japanese or English."""
from __future__ import annotations

import pytest

from .conftest import screenshot

pytestmark = pytest.mark.browser

PROMPT = "#language-prompt"


@pytest.fixture
def app_config():
    return {"BABEL_DEFAULT_LOCALE": "ja"}


def html_lang(page) -> str:
    return page.evaluate("document.documentElement.lang")


def switch_to(page, name: str):
    with page.expect_navigation():
        page.locator(".language-switcher button", has_text=name).click()


def sign_in_any_language(page, live_server):
    page.goto(f"{live_server}/login")
    page.locator("#email").fill("demo@example.com")
    page.locator("#password").fill("demopass")
    page.locator("form.login-form button[type=submit]").click()
    page.wait_for_url(f"{live_server}/")


def test_japanese_browser_is_offered_japanese_and_yes_switches(live_server, new_page):
    page = new_page(locale="ja-JP")
    page.goto(f"{live_server}/login")
    assert html_lang(page) == "ja" and page.locator(PROMPT).count() == 0
    switch_to(page, "English")
    assert html_lang(page) == "en" and page.url.endswith("/login")
    prompt = page.get_by_role("region", name="日本語で表示しますか?")
    assert prompt.is_visible()
    with page.expect_navigation():
        prompt.get_by_role("button", name="はい").click()
    assert html_lang(page) == "ja" and page.url.endswith("/login")
    assert page.locator(PROMPT).count() == 0
    page.reload()
    assert html_lang(page) == "ja" and page.locator(PROMPT).count() == 0


def test_never_keeps_the_prompt_away_after_reloads(live_server, new_page):
    page = new_page(locale="ja-JP")
    page.goto(f"{live_server}/login")
    switch_to(page, "English")
    with page.expect_navigation():
        page.get_by_role("button", name="もう表示しない").click()
    assert html_lang(page) == "en" and page.locator(PROMPT).count() == 0
    for _ in range(2):
        page.reload()
        assert html_lang(page) == "en" and page.locator(PROMPT).count() == 0


def test_no_hides_the_prompt_for_this_session_only(live_server, new_page, browser):
    page = new_page(locale="ja-JP")
    page.goto(f"{live_server}/login")
    switch_to(page, "English")
    with page.expect_navigation():
        page.get_by_role("button", name="いいえ").click()
    assert html_lang(page) == "en" and page.locator(PROMPT).count() == 0
    page.reload()
    assert page.locator(PROMPT).count() == 0
    # a new browser session that chose English again is asked again
    cookies = [c for c in page.context.cookies() if c["name"] == "lang"]
    other = new_page(locale="ja-JP")
    other.context.add_cookies(cookies)
    other.goto(f"{live_server}/login")
    assert other.locator(PROMPT).is_visible()


def test_english_browser_on_the_japanese_page(live_server, demo, new_page):
    page = new_page(locale="en-US")
    sign_in_any_language(page, live_server)
    assert html_lang(page) == "en" and page.locator(PROMPT).count() == 0
    en_figure = page.locator('[data-field="net_assets"]').inner_text()
    screenshot(page, "wallet-en")
    switch_to(page, "日本語")
    assert html_lang(page) == "ja"
    assert page.get_by_role("heading", name="総資産").is_visible()
    assert page.locator('[data-field="net_assets"]').inner_text() == en_figure
    screenshot(page, "wallet-ja")
    prompt = page.get_by_role("region", name="Show in English?")
    assert prompt.is_visible()
    # the prompt sits above the bar and never covers the header's figure or the switch
    prompt_box = prompt.bounding_box()
    for target in (".site-header", "#show-in-header"):
        box = page.locator(target).bounding_box()
        assert prompt_box["y"] + prompt_box["height"] <= box["y"], target
    # keyboard reachable: the first Tab stops are the skip link and the prompt's buttons
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Yes"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert html_lang(page) == "en" and page.locator(PROMPT).count() == 0


def test_switcher_on_every_page(live_server, demo, new_page):
    page = new_page(locale="en-US")
    for path in ("/login", "/no-such-page"):
        page.goto(f"{live_server}{path}")
        switch_to(page, "日本語")
        assert html_lang(page) == "ja" and page.url.endswith(path)
        switch_to(page, "English")
        assert html_lang(page) == "en"
    sign_in_any_language(page, live_server)
    switch_to(page, "日本語")
    assert html_lang(page) == "ja" and page.url == f"{live_server}/"
    assert page.get_by_text("ログアウト").is_visible()
