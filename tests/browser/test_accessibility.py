"""axe-core on every page and in every state: zero violations, in both languages and schemes.

axe is the vendored axe-core (tests/browser/vendor/), put into the page by Playwright; the
page's Content-Security-Policy would refuse that script, so these contexts bypass it."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from dashboard.extensions import db
from dashboard.models import Account, Rate

from .conftest import screenshot

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe.min.js"


def violations(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]} for v in result["violations"]]


def context_for(browser, live_server, *, language="en", browser_language=None, scheme="light", width=1280):
    context = browser.new_context(bypass_csp=True, locale=browser_language or ("ja-JP" if language == "ja" else "en-US"),
                                  color_scheme=scheme, viewport={"width": width, "height": 800})
    if language:  # None: no choice made, so a browser in the other language is asked
        context.add_cookies([{"name": "lang", "value": language, "url": live_server}])
    context.set_default_timeout(10_000)
    return context


def sign_in(page, live_server):
    page.goto(f"{live_server}/login")
    page.locator("#email").fill("demo@example.com")
    page.locator("#password").fill("demopass")
    page.locator("form.login-form button[type=submit]").click()
    page.wait_for_url(f"{live_server}/")


def test_axe_finds_nothing_in_any_state(app, live_server, demo, browser):
    found = {}

    def check(name, page):
        screenshot(page, f"axe-{name}")
        problems = violations(page)
        if problems:
            found[name] = problems

    for language in ("en", "ja"):
        for scheme in ("light", "dark"):
            state = f"{language}-{scheme}"
            context = context_for(browser, live_server, language=language, scheme=scheme)
            page = context.new_page()
            page.goto(f"{live_server}/login")
            check(f"sign-in-{state}", page)
            sign_in(page, live_server)
            check(f"wallet-{state}", page)
            page.goto(f"{live_server}/api-keys")
            check(f"api-keys-header-on-{state}", page)
            page.locator("#wallet-control").click()
            page.locator("#wallet-panel").wait_for()
            check(f"panel-open-{state}", page)
            context.close()

            context = context_for(browser, live_server, language=language, scheme=scheme, width=390)
            page = context.new_page()
            sign_in(page, live_server)
            page.locator("#menu-toggle").click()
            check(f"phone-menu-open-{state}", page)
            context.close()

    # The language prompt: a Japanese browser on the English site, no language chosen yet (the
    # sign-ins above saved one on the account, which would answer the question).
    with app.app_context():
        account = db.session.execute(select(Account)).scalar_one()
        account.preferred_language, account.never_prompt_language = None, False
        db.session.commit()
    context = context_for(browser, live_server, language=None, browser_language="ja-JP")
    page = context.new_page()
    sign_in(page, live_server)
    page.locator("#language-prompt").wait_for()
    check("prompt-shown", page)

    # Rates stale, a rate missing, the header off, zero balances hidden.
    with app.app_context():
        db.session.get(Rate, "xem").as_of = datetime.now(UTC) - timedelta(hours=2)
        db.session.delete(db.session.get(Rate, "btc"))
        account = db.session.execute(select(Account)).scalar_one()
        account.show_net_assets_in_header = False
        account.hide_zero_balances = True
        db.session.commit()
    for language in ("en", "ja"):
        for scheme in ("light", "dark"):
            context = context_for(browser, live_server, language=language, scheme=scheme)
            page = context.new_page()
            sign_in(page, live_server)
            page.locator('[data-notice="stale"]').wait_for()
            check(f"stale-missing-header-off-{language}-{scheme}", page)
            page.goto(f"{live_server}/api-keys")
            check(f"api-keys-header-off-{language}-{scheme}", page)
            context.close()
    # The flashed confirmation of a save made without the script.
    context = context_for(browser, live_server)
    page = context.new_page()
    sign_in(page, live_server)
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    page.evaluate("""(token) => { const form = document.querySelector('form[data-preference="show_in_header"]');
        form.querySelector('input[name="csrf_token"]').value = token; HTMLFormElement.prototype.submit.call(form); }""", token)
    page.locator(".flashes").wait_for()
    check("saved-message", page)
    context.close()
    assert found == {}, json.dumps(found, indent=1)


def test_the_check_itself_finds_a_fault(live_server, browser):
    # So that "no violations" above means something: a picture without a text alternative is caught.
    context = context_for(browser, live_server)
    page = context.new_page()
    page.goto(f"{live_server}/login")
    page.evaluate("document.querySelector('main').append(Object.assign(document.createElement('img'), {src: '/static/icons/currencies/btc.svg'}))")
    assert "image-alt" in {problem["id"] for problem in violations(page)}
    context.close()
