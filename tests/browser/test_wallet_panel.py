"""The header's control and its panel, the switches without reloads, the live header figure."""
from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from dashboard.extensions import db
from dashboard.models import Balance

from .conftest import browser_sign_in, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def app_config():
    return {"REFRESH_SECONDS": 1}


def test_the_panel_opens_over_the_page_and_closes_three_ways(live_server, demo, new_page):
    page = new_page()
    browser_sign_in(page, live_server)
    page.goto(f"{live_server}/api-keys")
    control = page.locator("#wallet-control")
    panel = page.locator("#wallet-panel")
    heading = page.get_by_role("heading", name="API keys", exact=True).first
    assert control.get_attribute("aria-expanded") == "false" and panel.is_hidden()

    control.click()                                   # opens, over the page: the page is still there
    expect(panel).to_be_visible()
    assert control.get_attribute("aria-expanded") == "true" and heading.is_visible()
    # Compact: a title, net assets, the five largest holdings and a link to the wallet.
    assert panel.get_by_role("heading", name="Wallet").is_visible()
    assert panel.locator("tbody tr[data-currency]").count() == 5
    screenshot(page, "panel-open")
    page.keyboard.press("Escape")                     # Escape closes, focus back on the control
    expect(panel).to_be_hidden()
    assert page.evaluate("document.activeElement.id") == "wallet-control"

    page.keyboard.press("Space")                      # a button: Space opens it
    expect(panel).to_be_visible()
    page.mouse.click(5, 790)                          # a click outside closes
    expect(panel).to_be_hidden()
    assert page.evaluate("document.activeElement.id") == "wallet-control"

    control.click()
    expect(panel).to_be_visible()
    control.click()                                   # and the control again
    expect(panel).to_be_hidden()
    assert control.get_attribute("aria-expanded") == "false"


def test_without_javascript_the_control_is_a_link_to_the_wallet(live_server, demo, new_page):
    page = new_page(java_script_enabled=False)
    browser_sign_in(page, live_server)
    page.goto(f"{live_server}/api-keys")
    with page.expect_navigation():
        page.locator("#wallet-control").click()
    assert page.url == f"{live_server}/"
    assert page.locator(".wallet-widget .balances tbody tr").count() == 14
    assert page.locator(".wallet-widget .balance-list > li").count() == 14


def test_hide_zero_balances_at_once_and_kept(live_server, demo, new_page):
    page = new_page()
    browser_sign_in(page, live_server)
    switch = page.get_by_role("switch", name="Hide zero balances")
    zec = page.locator('tr[data-currency="zec"]')
    assert zec.is_visible() and not switch.is_checked()
    page.evaluate("window.__sameDocument = true")
    switch.press("Space")
    expect(zec).to_be_hidden()
    expect(page.locator("#refresh-status")).to_have_text("Saved.")
    assert page.locator('tr[data-currency="btc"]').is_visible()
    assert page.evaluate("window.__sameDocument") is True
    page.reload()
    expect(page.locator('tr[data-currency="zec"]')).to_be_hidden()
    assert page.get_by_role("switch", name="Hide zero balances").is_checked()


def test_hide_zero_balances_without_javascript_confirms(live_server, demo, new_page):
    page = new_page(java_script_enabled=False)
    browser_sign_in(page, live_server)
    page.get_by_role("switch", name="Hide zero balances").check()
    with page.expect_navigation():
        page.locator('form[data-preference="hide_zero_balances"] .save-switch').click()
    expect(page.locator(".flashes")).to_have_text("Saved: currencies with a zero balance are hidden.")
    assert page.locator('tr[data-currency="zec"]').is_hidden()


def test_the_live_header_figure_changes_only_with_the_figure(app, live_server, demo, new_page):
    page = new_page()
    browser_sign_in(page, live_server)
    page.goto(f"{live_server}/api-keys")
    amount = page.locator("#header-net-assets")
    before = amount.inner_text()
    page.evaluate("""() => { window.__changes = 0;
        new MutationObserver((records) => { window.__changes += records.length; })
          .observe(document.getElementById('header-net-assets'), {childList: true, characterData: true, subtree: true}); }""")
    with page.expect_response("**/api/balance"):
        pass
    with page.expect_response("**/api/balance"):
        pass
    assert page.evaluate("window.__changes") == 0      # refreshed twice, same figure: nothing announced
    with app.app_context():
        jpy = db.session.execute(select(Balance).where(Balance.currency_code == "jpy")).scalar_one()
        jpy.available += Decimal(1000)
        db.session.commit()
    expect(amount).not_to_have_text(before)
    assert page.evaluate("window.__changes") >= 1
