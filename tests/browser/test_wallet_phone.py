"""The wallet as a phone shows it: one compact row per currency, the largest first, the list short
enough to take in; colours that belong to a currency; switches saved without moving the page; the
header's figure on the wallet page; the phone menu closing as the panel does."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from dashboard.extensions import db
from dashboard.ledger.rate_updates import store_rate
from dashboard.models import Rate

from .conftest import browser_sign_in, screenshot

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def visible_codes(page, selector=".balance-list > li") -> list[str]:
    return page.eval_on_selector_all(selector, "items => items.filter(i => i.offsetParent !== null).map(i => i.dataset.currency)")


@pytest.mark.parametrize("locale", ["en-US", "ja-JP"])
def test_at_390_px_the_list_is_compact_and_largest_first(live_server, demo, new_page, locale):
    page = new_page(viewport=PHONE, locale=locale)
    browser_sign_in(page, live_server)
    expect(page.locator("table.balances")).to_be_hidden()
    codes = visible_codes(page)
    assert len(codes) == 14
    assert codes[:2] == ["jpy", "xem"]  # XEM, 30 % of the demo's net assets, second after yen
    height = page.locator(".balance-list").bounding_box()["height"]
    assert height <= 1000, f"the list is {height} px tall at 390 px"
    # Nothing is wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # A row opens to show what is available and in use, by keyboard too.
    xem = page.locator('.balance-list > li[data-currency="xem"] summary')
    xem.focus()
    page.keyboard.press("Enter")
    expect(page.locator('.balance-list > li[data-currency="xem"] .item-figures')).to_be_visible()
    screenshot(page, f"wallet-phone-{locale[:2]}")


@pytest.mark.parametrize("width", [320, 390])
def test_every_currency_name_is_whole_on_a_phone(live_server, demo, new_page, width):
    """The share goes under the total, so a name has the row's room: none is cut short ("Japanese
    Y…", "B…" for Bitcoin at 320 px before), and each row stays within the screen."""
    page = new_page(viewport={"width": width, "height": 844})
    browser_sign_in(page, live_server)
    cut = page.eval_on_selector_all(
        ".balance-list .currency-name",
        "names => names.filter(n => n.offsetParent !== null && n.scrollWidth > n.clientWidth).map(n => n.textContent)")
    assert cut == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    bitcoin = page.locator('.balance-list > li[data-currency="btc"]')
    total, share = bitcoin.locator(".item-total").bounding_box(), bitcoin.locator(".item-share").bounding_box()
    assert share["y"] >= total["y"] + total["height"] - 1  # the share under the total
    screenshot(page, f"wallet-phone-{width}-names")


def test_order_by_name_and_hide_small_balances_are_saved(live_server, demo, new_page):
    page = new_page(viewport=PHONE)
    browser_sign_in(page, live_server)
    with page.expect_response("**/api/balance"):
        page.get_by_label("Order").select_option("name")
    expect(page.locator(".balance-list > li").first).to_have_attribute("data-currency", "rep")  # Augur
    page.get_by_role("switch", name="Hide small balances").check()
    expect(page.locator('.balance-list > li[data-currency="zec"]')).to_be_hidden()  # ¥0
    page.get_by_label("Small means under").fill("100000")
    with page.expect_response("**/api/balance"):
        page.get_by_label("Small means under").press("Enter")
    expect(page.locator('.balance-list > li[data-currency="ltc"]')).to_be_hidden()  # ¥84,000
    page.reload()
    # By name, and worth ¥100,000 or more: Bitcoin, Ethereum, Japanese Yen, NEM, XRP.
    assert visible_codes(page) == ["btc", "eth", "jpy", "xem", "xrp"]
    assert page.get_by_label("Order").input_value() == "name" and page.get_by_label("Small means under").input_value() == "100000"


def allocation_colours(page) -> dict[str, str]:
    """Each currency's colour in the allocation's legend (a swatch beside its code)."""
    return page.eval_on_selector_all(".chart-table th[scope=row]:has(.swatch)", r"""rows => Object.fromEntries(rows.map(row =>
        [row.textContent.trim().split(/\s/)[0], getComputedStyle(row.querySelector('.swatch')).backgroundColor]))""")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_currency_keeps_its_colour_when_the_ranks_change(app, live_server, demo, new_page, scheme):
    page = new_page(color_scheme=scheme)
    browser_sign_in(page, live_server)
    before = allocation_colours(page)
    # BTC worth ten times more: it moves ahead of XEM and XRP, yet keeps its colour.
    with app.app_context():
        btc = db.session.execute(select(Rate).where(Rate.currency_code == "btc")).scalar_one()
        store_rate("btc", btc.jpy_rate * 10, as_of=datetime.now(UTC), source="test")
        db.session.commit()
    page.reload()
    after = allocation_colours(page)
    assert list(after)[:2] != list(before)[:2]  # the ranks did change
    shared = set(before) & set(after) - {"Other"}
    assert len(shared) >= 4 and all(before[code] == after[code] for code in shared)
    assert len(set(after.values())) == len(after)  # no two slices alike
    # The percent never wraps onto a line of its own.
    for cell in page.locator(".chart-table td .percent").all():
        assert cell.bounding_box()["height"] < 30


@pytest.mark.parametrize("width", [390, 1366])
def test_saving_a_switch_moves_nothing(live_server, demo, new_page, width):
    page = new_page(viewport={"width": width, "height": 900})
    browser_sign_in(page, live_server)
    switches = page.locator(".wallet-widget .switch-form")
    page.wait_for_load_state("networkidle")
    before = [switches.nth(i).bounding_box() for i in range(switches.count())]
    # Shifts of the page's content from here on (not the page's loading; the header's own figure
    # comes and goes with "Show in header", as it should).
    page.evaluate("""() => { window.__shift = 0;
        const main = document.getElementById('main');
        new PerformanceObserver(list => { for (const entry of list.getEntries())
            if (entry.sources.some(source => source.node && main.contains(source.node))) window.__shift += entry.value; })
          .observe({type: 'layout-shift'}); }""")
    page.get_by_role("switch", name="Show in header").click()
    expect(page.locator("#refresh-status")).to_have_text("Saved.")
    page.get_by_role("switch", name="Hide zero balances").click()
    page.wait_for_timeout(300)
    after = [switches.nth(i).bounding_box() for i in range(switches.count())]
    assert after == before
    shift = page.evaluate("window.__shift")
    assert shift == 0


def test_the_header_shows_net_assets_on_the_wallet_page(live_server, demo, new_page):
    page = new_page(viewport={"width": 1024, "height": 800})
    browser_sign_in(page, live_server)
    header = page.locator("#header-net-assets")
    expect(header).to_have_text("¥ " + page.locator('.wallet-widget [data-field="net_assets"]').inner_text())
    # The header fits one row at 1024 px.
    assert page.locator(".topbar").bounding_box()["height"] < 70
    page.get_by_role("switch", name="Show in header").click()
    expect(header).to_be_hidden()
    page.reload()
    expect(header).to_be_hidden()
    assert page.locator("#header-net-assets").inner_text() == ""


def test_the_phone_menu_closes_on_escape_and_a_click_outside(live_server, demo, new_page):
    page = new_page(viewport=PHONE)
    browser_sign_in(page, live_server)
    toggle, menu = page.locator("#menu-toggle"), page.locator("#site-menu")
    toggle.click()
    expect(menu).to_be_visible()
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    assert page.evaluate("document.activeElement.id") == "menu-toggle"
    toggle.click()
    expect(menu).to_be_visible()
    page.mouse.click(200, 700)
    expect(menu).to_be_hidden()
    toggle.click()
    toggle.click()
    expect(menu).to_be_hidden()


def test_the_header_panel_is_compact_keeps_focus_and_does_not_scroll(live_server, demo, new_page):
    page = new_page(viewport=PHONE)
    browser_sign_in(page, live_server)
    page.goto(f"{live_server}/activity")
    page.evaluate("window.scrollTo(0, 0)")
    page.locator("#wallet-control").click()
    panel = page.locator("#wallet-panel")
    expect(panel).to_be_visible()
    assert page.evaluate("window.scrollY") == 0
    expect(panel.get_by_role("heading", name="Wallet")).to_be_visible()
    assert panel.locator("tbody tr[data-currency]").count() == 5
    assert panel.bounding_box()["height"] <= 844 - 100
    for _ in range(12):
        page.keyboard.press("Tab")
        assert page.evaluate("document.getElementById('wallet-panel').contains(document.activeElement)")
    screenshot(page, "panel-open-phone")
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()


@pytest.mark.parametrize("width", [320, 390])
def test_the_gains_page_stays_within_a_phone(app, live_server, demo, new_page, width):
    """The realized gains table fits at 390 px; narrower, it scrolls in its own box, never the page."""
    from dashboard.ledger.changes import in_transaction
    from dashboard.ledger.fills import import_trades
    from dashboard.models import utcnow

    moment = utcnow().isoformat()
    trades = ("email,trade_id,executed_at,pair,side,quantity,price,fee,fee_currency\n"
              f"demo@example.com,P1,{moment},dash_jpy,buy,0.8,75853.75,0,jpy\n"
              f"demo@example.com,P2,{moment},dash_jpy,sell,0.3,66070,0,jpy\n")
    with app.app_context():
        in_transaction(lambda: import_trades(trades.encode(), source="test", zone="Asia/Tokyo", now=utcnow()))
    page = new_page(viewport={"width": width, "height": 844})
    browser_sign_in(page, live_server)
    page.goto(f"{live_server}/gains")
    expect(page.locator(".gains-table")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    if width >= 390:
        box = page.locator(".table-scroll")
        assert box.evaluate("box => box.scrollWidth <= box.clientWidth")
    screenshot(page, f"gains-phone-{width}")
