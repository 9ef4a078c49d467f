"""The language prompt and switcher in a real browser whose own language is English or Japanese, on
a Japanese site (the source page's case): first visit, each answer, reload, a browser restart,
the switcher, sign-in and sign-out, with and without JavaScript."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import screenshot

pytestmark = pytest.mark.browser

PROMPT = "#language-prompt"
WITH_AND_WITHOUT_JS = pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])


@pytest.fixture
def app_config():
    return {"BABEL_DEFAULT_LOCALE": "ja"}


def html_lang(page) -> str:
    # Read from the markup, not the DOM, so it works with JavaScript off too.
    return page.locator("html").get_attribute("lang")


def prompt_shown(page) -> str | None:
    """The question the prompt asks, or None when there is no prompt."""
    prompt = page.locator(PROMPT)
    if prompt.count() == 0:
        return None
    assert prompt.is_visible()
    return prompt.locator("p").inner_text()


def click_and_wait(page, locator):
    with page.expect_navigation():
        locator.click()


def answer(page, button: str):
    click_and_wait(page, page.locator(PROMPT).get_by_role("button", name=button, exact=True))


def switch_to(page, name: str):
    click_and_wait(page, page.locator(".language-switcher button", has_text=name))


def sign_in(page, live_server):
    """Signs in from whatever language the page is in (the fields' ids, not their labels)."""
    page.goto(f"{live_server}/login")
    page.locator("#email").fill("demo@example.com")
    page.locator("#password").fill("demopass")
    click_and_wait(page, page.locator("form.login-form button[type=submit]"))
    assert page.url == f"{live_server}/"


def sign_out(page, live_server):
    click_and_wait(page, page.locator("form.sign-out button"))
    assert page.url == f"{live_server}/login"


def restart(page, new_page, **options):
    """A new browser session: the persistent cookies survive, the session cookies (expires -1) do not."""
    kept = [cookie for cookie in page.context.cookies() if cookie["expires"] != -1]
    restarted = new_page(**options)
    if kept:
        restarted.context.add_cookies(kept)
    return restarted


def looks(page) -> tuple[str, str | None]:
    return html_lang(page), prompt_shown(page)


@WITH_AND_WITHOUT_JS
def test_an_english_browsers_first_visit_is_japanese_and_asks_in_english(live_server, demo, new_page, js):
    page = new_page(locale="en-US", java_script_enabled=js)
    page.goto(f"{live_server}/login")
    assert looks(page) == ("ja", "Show in English?")
    prompt = page.get_by_role("region", name="Show in English?")
    assert prompt.get_attribute("lang") == "en"
    for button in ("Yes", "No", "Never"):
        assert prompt.get_by_role("button", name=button, exact=True).is_visible()
    screenshot(page, f"prompt-login-en-browser-{'js' if js else 'nojs'}")
    sign_in(page, live_server)
    assert looks(page) == ("ja", "Show in English?")


@WITH_AND_WITHOUT_JS
def test_yes_gives_english_across_reloads_a_restart_and_sign_in(live_server, demo, new_page, js):
    options = {"locale": "en-US", "java_script_enabled": js}
    page = new_page(**options)
    page.goto(f"{live_server}/login")
    answer(page, "Yes")
    assert page.url == f"{live_server}/login"
    assert looks(page) == ("en", None)
    page.reload()
    assert looks(page) == ("en", None)
    page = restart(page, new_page, **options)
    page.goto(f"{live_server}/login")
    assert looks(page) == ("en", None)
    sign_in(page, live_server)
    assert looks(page) == ("en", None)
    assert page.get_by_role("heading", name="Net Assets", exact=True).is_visible()
    sign_out(page, live_server)
    assert looks(page) == ("en", None)


@WITH_AND_WITHOUT_JS
def test_no_keeps_japanese_and_the_prompt_away_until_a_restart(live_server, demo, new_page, js):
    options = {"locale": "en-US", "java_script_enabled": js}
    page = new_page(**options)
    page.goto(f"{live_server}/login")
    answer(page, "No")
    assert looks(page) == ("ja", None)
    page.reload()
    assert looks(page) == ("ja", None)
    sign_in(page, live_server)
    assert looks(page) == ("ja", None)
    sign_out(page, live_server)
    assert looks(page) == ("ja", None)
    page = restart(page, new_page, **options)
    page.goto(f"{live_server}/login")
    assert looks(page) == ("ja", "Show in English?")


@WITH_AND_WITHOUT_JS
def test_never_keeps_the_prompt_away_after_a_restart_and_on_the_account(live_server, demo, new_page, js):
    options = {"locale": "en-US", "java_script_enabled": js}
    page = new_page(**options)
    page.goto(f"{live_server}/login")
    answer(page, "Never")
    assert looks(page) == ("ja", None)
    page.reload()
    assert looks(page) == ("ja", None)
    page = restart(page, new_page, **options)
    page.goto(f"{live_server}/login")
    assert looks(page) == ("ja", None)
    sign_in(page, live_server)  # the browser's "never" goes onto the account
    assert looks(page) == ("ja", None)
    # Another browser, never asked before: asked until it signs in to that account.
    elsewhere = new_page(**options)
    elsewhere.goto(f"{live_server}/login")
    assert looks(elsewhere) == ("ja", "Show in English?")
    sign_in(elsewhere, live_server)
    assert looks(elsewhere) == ("ja", None)


@WITH_AND_WITHOUT_JS
def test_choosing_japanese_in_an_english_browser_never_brings_the_prompt_back(live_server, demo, new_page, js):
    options = {"locale": "en-US", "java_script_enabled": js}
    page = new_page(**options)
    page.goto(f"{live_server}/login")
    assert looks(page) == ("ja", "Show in English?")
    switch_to(page, "日本語")
    assert page.url == f"{live_server}/login"
    assert looks(page) == ("ja", None)
    page.reload()
    assert looks(page) == ("ja", None)
    sign_in(page, live_server)
    assert looks(page) == ("ja", None)
    page = restart(page, new_page, **options)
    page.goto(f"{live_server}/login")
    assert looks(page) == ("ja", None)
    sign_in(page, live_server)
    assert looks(page) == ("ja", None)
    switch_to(page, "English")
    assert looks(page) == ("en", None)
    sign_out(page, live_server)
    assert looks(page) == ("en", None)


@WITH_AND_WITHOUT_JS
def test_a_japanese_browser_sees_no_prompt_on_the_japanese_page(live_server, demo, new_page, js):
    page = new_page(locale="ja-JP", java_script_enabled=js)
    page.goto(f"{live_server}/login")
    assert looks(page) == ("ja", None)
    sign_in(page, live_server)
    assert looks(page) == ("ja", None)
    switch_to(page, "English")  # a choice: nobody second-guesses it
    assert looks(page) == ("en", None)
    page.reload()
    assert looks(page) == ("en", None)
    sign_out(page, live_server)
    assert looks(page) == ("en", None)


@pytest.mark.parametrize("app_config", [{"BABEL_DEFAULT_LOCALE": "en"}])
def test_a_japanese_browser_on_an_english_site_is_asked_in_japanese(live_server, new_page):
    page = new_page(locale="ja-JP")
    page.goto(f"{live_server}/login")
    assert looks(page) == ("en", "日本語で表示しますか?")
    prompt = page.get_by_role("region", name="日本語で表示しますか?")
    for button in ("はい", "いいえ", "もう表示しない"):
        assert prompt.get_by_role("button", name=button, exact=True).is_visible()
    answer(page, "はい")
    assert looks(page) == ("ja", None)
    page.reload()
    assert looks(page) == ("ja", None)


@pytest.mark.parametrize("app_config", [{"BABEL_DEFAULT_LOCALE": "ja", "BROWSER_LANGUAGE": "follow"}])
@pytest.mark.parametrize("locale, expected", [("en-US", "en"), ("ja-JP", "ja")])
def test_follow_shows_the_browsers_language_without_a_prompt(live_server, demo, new_page, locale, expected):
    page = new_page(locale=locale)
    page.goto(f"{live_server}/login")
    assert looks(page) == (expected, None)
    sign_in(page, live_server)
    assert looks(page) == (expected, None)


def test_the_prompt_sits_at_the_foot_below_the_content(live_server, demo, new_page):
    """As on the reference page: after the content, covering nothing; its answers still work."""
    page = new_page(locale="en-US")
    sign_in(page, live_server)
    assert looks(page) == ("ja", "Show in English?")
    ja_figure = page.locator('[data-field="net_assets"]').inner_text()
    screenshot(page, "wallet-ja-with-prompt")
    prompt_box = page.locator(PROMPT).bounding_box()
    main = page.locator("main").bounding_box()
    assert prompt_box["y"] >= main["y"] + main["height"]
    assert page.locator(".site-footer").bounding_box()["y"] >= prompt_box["y"] + prompt_box["height"]
    page.locator(PROMPT).get_by_role("button", name="Yes", exact=True).focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert looks(page) == ("en", None)
    assert page.locator('[data-field="net_assets"]').inner_text() == ja_figure
    screenshot(page, "wallet-en")


def test_the_most_recent_choice_wins_at_sign_in(app, live_server, demo, new_page):
    """An English browser answers "Yes" on the sign-in page, then signs in to an account that
    once saved Japanese: English, the choice made seconds ago."""
    from dashboard.extensions import db
    from dashboard.models import Account

    with app.app_context():
        db.session.query(Account).update({"preferred_language": "ja"})
        db.session.commit()
    page = new_page(locale="en-US")
    page.goto(f"{live_server}/login")
    with page.expect_navigation():
        page.locator(PROMPT).get_by_role("button", name="Yes", exact=True).click()
    sign_in(page, live_server)
    assert looks(page)[0] == "en"
    with app.app_context():
        assert db.session.query(Account.preferred_language).scalar() == "en"


@pytest.mark.parametrize("lang, label", [("en", "Crypto-asset exchange service provider registration:"),
                                         ("ja", "暗号資産交換業者登録番号：")])
def test_the_footer_names_the_operators_registration(live_server, new_page, lang, label):
    page = new_page(locale="en-US" if lang == "en" else "ja-JP")
    page.context.add_cookies([{"name": "lang", "value": lang, "url": live_server}])
    page.goto(f"{live_server}/login")
    footer = page.locator(".site-footer")
    expect(footer).to_contain_text(label)
    expect(footer).to_contain_text("関東財務局長 第00000号")


def test_switcher_on_every_page(live_server, demo, new_page):
    page = new_page(locale="en-US")
    for path in ("/login", "/no-such-page"):
        page.goto(f"{live_server}{path}")
        switch_to(page, "English")
        assert html_lang(page) == "en" and page.url.endswith(path)
        switch_to(page, "日本語")
        assert html_lang(page) == "ja" and page.url.endswith(path)
    sign_in(page, live_server)
    switch_to(page, "English")
    assert html_lang(page) == "en" and page.url == f"{live_server}/"
    assert page.get_by_text("Sign out").is_visible()
