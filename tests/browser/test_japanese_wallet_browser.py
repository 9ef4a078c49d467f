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
    page.locator("form.login-form").get_by_role("button", name="ログイン", exact=True).click()
    page.wait_for_url(f"{live_server}/")


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, {"width": 390, "height": 844}], ids=["wide", "narrow"])
def test_the_japanese_wallet_shows_the_exchanges_labels(live_server, demo, new_page, viewport):
    page = new_page(locale="ja-JP", viewport=viewport)
    sign_in_in_japanese(page, live_server)
    assert page.evaluate("document.documentElement.lang") == "ja"
    assert page.title() == "ウォレット"

    widget = page.locator(".wallet-widget")
    expect(widget.get_by_role("heading", name="総資産")).to_be_visible()
    if viewport["width"] >= 1024:  # the table; a phone shows a card per currency with the same words
        expect(widget.get_by_role("columnheader", name="残高")).to_be_visible()
        expect(widget.get_by_role("columnheader", name="利用中")).to_be_visible()
    else:  # a compact row per currency, opening to the same words
        widget.locator('.balance-list > li[data-currency="xem"] summary').click()
        row = widget.locator('.balance-list > li[data-currency="xem"]')
        expect(row.locator("dt", has_text="残高")).to_be_visible()
        expect(row.locator("dt", has_text="利用中")).to_be_visible()
    switch = widget.get_by_role("switch", name="ヘッダーに表示")
    expect(switch).to_be_visible()
    expect(switch).to_be_checked()
    expect(widget.get_by_role("heading", name="通貨別の資産")).to_be_visible()
    # The explanation of 利用中 uses the column's word, visible under the heading.
    expect(page.locator("#in-use-explained")).to_contain_text("「利用中」は、未約定の注文や手続き中の出金のために確保されている数量です。")
    body = page.locator("body").inner_text()
    assert [word for word in ("純資産", "使用中", "注文中", "利用可能", "Net Assets", "In Use") if word in body] == []
    screenshot(page, f"wallet-ja-labels-{viewport['width']}")

    # Every other page carries the figure in the header, under the same word as the heading.
    net_assets = widget.locator('[data-field="net_assets"]').inner_text()
    page.goto(f"{live_server}/api-keys")
    expect(page.locator("#wallet-control-label")).to_have_text("総資産")
    expect(page.locator("#header-net-assets")).to_have_text(f"¥ {net_assets}")


def test_switching_the_header_off_and_on_keeps_the_word(live_server, demo, new_page):
    page = new_page(locale="ja-JP")
    sign_in_in_japanese(page, live_server)
    switch = page.get_by_role("switch", name="ヘッダーに表示")
    switch.click()
    expect(switch).not_to_be_checked()
    page.goto(f"{live_server}/api-keys")
    expect(page.locator("#wallet-control-label")).to_have_text("総資産")
    expect(page.locator("#header-net-assets")).to_be_hidden()
    page.goto(f"{live_server}/")
    page.get_by_role("switch", name="ヘッダーに表示").click()
    expect(page.get_by_role("switch", name="ヘッダーに表示")).to_be_checked()
    page.goto(f"{live_server}/api-keys")
    expect(page.locator("#wallet-control-label")).to_have_text("総資産")
    expect(page.locator("#header-net-assets")).to_contain_text("¥ ")
