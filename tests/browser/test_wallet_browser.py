"""What only a browser shows: the header switch without reloads, live figures, both widths."""
from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from dashboard.extensions import db
from dashboard.models import Balance

from .conftest import browser_sign_in, screenshot

pytestmark = pytest.mark.browser

# The header's figure, on any page but the wallet's own (which shows the figure itself).
HEADER_AMOUNT = "#wallet-control #header-net-assets"


@pytest.fixture
def app_config():
    return {"REFRESH_SECONDS": 1}


def sign_out(page):
    page.locator("form.sign-out button").click()
    page.wait_for_url("**/login")


def test_switch_changes_the_header_at_once_and_holds(live_server, demo, new_page):
    page = new_page()
    browser_sign_in(page, live_server)
    net_assets = page.locator('[data-field="net_assets"]').inner_text()
    # The header shows it on the wallet page too; the switch is the wallet page's.
    assert page.locator(HEADER_AMOUNT).inner_text() == f"¥ {net_assets}"
    page.goto(f"{live_server}/api-keys")
    assert page.locator(HEADER_AMOUNT).inner_text() == f"¥ {net_assets}"
    page.goto(f"{live_server}/")
    switch = page.get_by_role("switch", name="Show in header")
    assert switch.is_checked()

    page.evaluate("window.__sameDocument = true")  # lost if the page reloads
    switch.press("Space")                          # keyboard-operable
    # Locator assertions, not wait_for_function: a string predicate is re-run through eval(),
    # which the page's Content-Security-Policy rightly refuses once it has to poll.
    expect(page.locator(HEADER_AMOUNT)).to_be_hidden()
    assert page.locator(HEADER_AMOUNT).inner_text() == ""  # off means off: the amount is gone
    assert not switch.is_checked()
    assert page.evaluate("window.__sameDocument") is True

    page.goto(f"{live_server}/api-keys")
    assert page.locator(HEADER_AMOUNT).inner_text() == "" and page.locator(HEADER_AMOUNT).is_hidden()
    page.goto(f"{live_server}/")
    assert not page.get_by_role("switch", name="Show in header").is_checked()

    sign_out(page)
    browser_sign_in(page, live_server)
    page.get_by_role("switch", name="Show in header").click()
    expect(page.locator("#refresh-status")).to_have_text("Saved.")
    sign_out(page)
    browser_sign_in(page, live_server)
    page.goto(f"{live_server}/api-keys")
    assert page.locator(HEADER_AMOUNT).inner_text() == f"¥ {net_assets}"


def test_switch_works_without_javascript(live_server, demo, new_page):
    page = new_page(java_script_enabled=False)
    browser_sign_in(page, live_server)
    save = page.locator('form[data-preference="show_in_header"] .save-switch')
    page.get_by_role("switch", name="Show in header").uncheck()
    with page.expect_navigation():
        save.click()
    expect(page.locator(".flashes")).to_have_text("Saved: net assets are no longer shown in the header.")
    page.goto(f"{live_server}/api-keys")
    assert page.locator(HEADER_AMOUNT).is_hidden()
    page.goto(f"{live_server}/")
    page.get_by_role("switch", name="Show in header").check()
    with page.expect_navigation():
        save.click()
    expect(page.locator(".flashes")).to_have_text("Saved: net assets are shown in the header.")
    page.goto(f"{live_server}/api-keys")
    assert page.locator(HEADER_AMOUNT).is_visible()


def test_figures_refresh_without_a_reload_and_failures_show(app, live_server, demo, new_page):
    page = new_page()
    browser_sign_in(page, live_server)
    before = page.locator('[data-field="net_assets"]').inner_text()
    with app.app_context():
        jpy = db.session.execute(select(Balance).where(Balance.currency_code == "jpy")).scalar_one()
        jpy.available += Decimal("1000")
        db.session.commit()
    page.evaluate("window.__sameDocument = true")
    expect(page.locator('[data-field="net_assets"]')).not_to_have_text(before)
    assert page.evaluate("window.__sameDocument") is True
    assert page.locator('tr[data-currency="jpy"] [data-field="available"]').inner_text() == "1,235,567"

    page.route("**/api/balance", lambda route: route.fulfill(status=503, body="{}", content_type="application/json"))
    expect(page.locator("#refresh-status")).to_have_text("Could not update the figures. Showing the last ones received.")


def test_wide_and_narrow_layouts(live_server, demo, new_page):
    wide = new_page(viewport={"width": 1280, "height": 900})
    browser_sign_in(wide, live_server)
    assert wide.locator("#menu-toggle").is_hidden()
    assert wide.locator(".wallet-widget").is_visible()
    screenshot(wide, "wallet-wide")

    narrow = new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    browser_sign_in(narrow, live_server)
    toggle = narrow.locator("#menu-toggle")
    assert toggle.is_visible() and toggle.get_attribute("aria-expanded") == "false"
    # The wallet is the page, not behind the menu.
    assert narrow.locator(".wallet-widget").is_visible()
    box = narrow.locator(".wallet-widget").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390 + 1
    screenshot(narrow, "wallet-narrow")
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true" and narrow.locator("#site-menu").is_visible()
    screenshot(narrow, "wallet-narrow-menu")
