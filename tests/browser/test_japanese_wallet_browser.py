"""The Japanese wallet, seen in a real browser, carries the exchange's own labels."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def app_config():
    return {"BABEL_DEFAULT_LOCALE": "ja"}


def sign_in_in_japanese(page, live_server):
    page.goto(f"{live_server}/login")
    page.get_by_label("メールアドレス").fill("demo@example.com")
    page.get_by_label("パスワード").fill("demopass")
    page.locator("form.login-form").get_by_role("button", name="ログイン").click()
    page.wait_for_url(f"{live_server}/")


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, {"width": 390, "height": 844}], ids=["wide", "narrow"])
def test_the_japanese_wallet_shows_the_exchanges_labels(live_server, demo, new_page, viewport):
    page = new_page(locale="ja-JP", viewport=viewport)
    sign_in_in_japanese(page, live_server)
    assert page.evaluate("document.documentElement.lang") == "ja"
    assert page.title() == "ウォレット"
    toggle = page.locator("#menu-toggle")
    if toggle.is_visible() and toggle.get_attribute("aria-expanded") == "false":
        toggle.click()  # on a phone the wallet sits in the menu

    widget = page.locator(".wallet-widget")
    expect(widget.get_by_role("heading", name="総資産")).to_be_visible()
    expect(widget.get_by_role("columnheader", name="残高")).to_be_visible()
    expect(widget.get_by_role("columnheader", name="利用中")).to_be_visible()
    switch = widget.get_by_role("switch", name="ヘッダーに表示")
    expect(switch).to_be_visible()
    expect(switch).to_be_checked()
    expect(widget.get_by_role("table", name="通貨別の資産")).to_be_attached()

    # The header figure carries the same word as the heading (the demo account shows it there).
    net_assets = widget.locator('[data-field="net_assets"]').inner_text()
    header = page.locator("#header-net-assets")
    expect(header).to_be_visible()
    expect(header).to_have_text(f"総資産 ¥ {net_assets}")

    # The explanation of 利用中 uses the column's word (how visible it is belongs to the layout).
    assert "「利用中」は、未約定の注文や手続き中の出金のために確保されている数量です。" in page.locator("main .lead").text_content()
    body = page.locator("body").inner_text()
    assert [word for word in ("純資産", "使用中", "注文中", "利用可能", "Net Assets", "In Use") if word in body] == []
    screenshot(page, f"wallet-ja-labels-{viewport['width']}")


def test_switching_the_header_off_and_on_keeps_the_word(live_server, demo, new_page):
    page = new_page(locale="ja-JP")
    sign_in_in_japanese(page, live_server)
    switch = page.get_by_role("switch", name="ヘッダーに表示")
    switch.click()
    expect(page.locator("#header-net-assets")).to_be_hidden()
    switch.click()
    # Filled in by the script from the page's own label: still 総資産, not an English word.
    expect(page.locator("#header-net-assets")).to_contain_text("総資産 ¥ ")
