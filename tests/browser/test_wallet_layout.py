"""The wallet on every screen: no horizontal overflow and every row on view at phone to wide
widths, in both languages and both colour schemes, with the figures at their widest (a
20-digit yen balance, 18-character coin amounts, a stale rate, a missing rate)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from dashboard.extensions import db
from dashboard.models import Account, Balance, Passkey, Rate

from .conftest import screenshot

pytestmark = pytest.mark.browser

WIDTHS = (320, 390, 768, 1024, 1366)
LANGUAGES = ("ja", "en")
SCHEMES = ("light", "dark")

# Elements whose right edge lies past the viewport, named for the failure message.
OVERFLOWING = """() => [...document.querySelectorAll('body *')]
  .filter((e) => e.getClientRects().length && e.getBoundingClientRect().right > innerWidth + 0.5)
  .slice(0, 5).map((e) => `${e.tagName}.${e.className}: ${(e.textContent || '').trim().slice(0, 40)}`)"""


def set_widest_figures(app):
    """Twenty-digit yen amounts, 18-character coin amounts, a stale rate and a missing one."""
    with app.app_context():
        balances = {b.currency_code: b for b in db.session.execute(select(Balance)).scalars()}
        balances["jpy"].available = Decimal("12345678901234567890")
        balances["jpy"].in_use = Decimal("98765432109876543210")
        balances["btc"].available = Decimal("1234567.12345678")   # 1,234,567.12345678: 18 characters
        balances["ltc"].in_use = Decimal("9876543.87654321")
        db.session.get(Rate, "xem").as_of = datetime.now(UTC) - timedelta(hours=2)
        db.session.delete(db.session.get(Rate, "dash"))
        db.session.commit()


def signed_in_state(browser, live_server, tmp_path):
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.goto(f"{live_server}/login")
    page.locator("#email").fill("demo@example.com")
    page.locator("#password").fill("demopass")
    page.locator("form.login-form button[type=submit]").click()
    page.wait_for_url(f"{live_server}/")
    path = tmp_path / "state.json"
    context.storage_state(path=str(path))
    context.close()
    return str(path)


def open_page(browser, state, live_server, *, width, language, scheme, path="/"):
    context = browser.new_context(storage_state=state, viewport={"width": width, "height": 800},
                                  locale="ja-JP" if language == "ja" else "en-US", color_scheme=scheme)
    context.add_cookies([{"name": "lang", "value": language, "url": live_server}])
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(f"{live_server}{path}")
    return context, page


def overflow_problems(page, where: str) -> list[str]:
    width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if width <= inner:
        return []
    return [f"{where}: page {width} px wide in a {inner} px window; {page.evaluate(OVERFLOWING)}"]


def test_no_overflow_and_every_row_on_view(app, live_server, demo, browser, tmp_path):
    set_widest_figures(app)
    state = signed_in_state(browser, live_server, tmp_path)
    problems = []
    for width in WIDTHS:
        for language in LANGUAGES:
            for scheme in SCHEMES:
                where = f"{width}px {language} {scheme}"
                context, page = open_page(browser, state, live_server, width=width, language=language, scheme=scheme)
                try:
                    page.locator('[data-notice="stale"]').wait_for()
                    problems += overflow_problems(page, f"wallet {where}")
                    # On view without any interaction: the figure and all 14 rows, each inside the window.
                    if not page.locator('[data-field="net_assets"]').is_visible():
                        problems.append(f"{where}: net assets not visible")
                    # A compact row per currency below 64rem, a table row (or card) from there.
                    rows = page.locator(".balance-list > li[data-currency]:visible, .wallet-widget .balances tbody tr[data-currency]:visible")
                    if rows.count() != 14:
                        problems.append(f"{where}: {rows.count()} rows")
                    for index in range(rows.count()):
                        box = rows.nth(index).bounding_box()
                        if not rows.nth(index).is_visible() or box["x"] < 0 or box["x"] + box["width"] > width + 0.5:
                            problems.append(f"{where}: row {index} not on view: {box}")
                    # An amount and its code on one line, never cut off.
                    clipped = page.evaluate("""() => [...document.querySelectorAll('.balances .native, .balances .jpy, .balance-list .jpy, .balance-list .native')]
                        .filter((e) => getComputedStyle(e).whiteSpace !== 'nowrap' || e.scrollWidth > e.clientWidth + 1).length""")
                    if clipped:
                        problems.append(f"{where}: {clipped} amounts wrap or are cut off")
                    if language == "ja":
                        style = page.evaluate("(() => { const s = getComputedStyle(document.querySelector('th')); return [s.wordBreak, s.lineBreak]; })()")
                        if style[0] not in ("keep-all", "auto-phrase") or style[1] != "strict":
                            problems.append(f"{where}: Japanese may break inside words: {style}")
                    screenshot(page, f"wallet-{width}-{language}-{scheme}")

                    # Another page with the header's panel open over it.
                    page.goto(f"{live_server}/api-keys")
                    page.locator("#wallet-control").click()
                    page.locator("#wallet-panel").wait_for()
                    problems += overflow_problems(page, f"panel {where}")
                    panel = page.locator("#wallet-panel").bounding_box()
                    if panel["x"] < 0 or panel["x"] + panel["width"] > width + 0.5:
                        problems.append(f"{where}: panel outside the window: {panel}")
                    if page.locator("#wallet-panel tbody tr[data-currency]:visible").count() != 5:
                        problems.append(f"{where}: the panel does not list the five largest holdings")
                    screenshot(page, f"panel-{width}-{language}-{scheme}")
                finally:
                    context.close()
    assert problems == []


def test_the_account_pages_fit_every_screen(app, live_server, demo, browser, tmp_path):
    """Security (with a passkey and two sessions), the password confirmation, API keys and
    activity: no horizontal overflow from 320 px up, in both languages."""
    state = signed_in_state(browser, live_server, tmp_path)
    with app.app_context():
        account = db.session.execute(select(Account)).scalar_one()
        db.session.add(Passkey(account_id=account.id, credential_id="credential-for-the-layout", public_key=b"\x00",
                               name="A passkey with a rather long name for a phone", last_used_at=datetime.now(UTC)))
        db.session.commit()
    problems = []
    for width in (320, 390, 1366):
        for language in LANGUAGES:
            scheme = "dark" if width == 390 else "light"
            for path in ("/security", "/security/confirm?next=/security", "/api-keys", "/activity"):
                context, page = open_page(browser, state, live_server, width=width, language=language, scheme=scheme, path=path)
                try:
                    problems += overflow_problems(page, f"{path} {width}px {language}")
                    name = path.strip("/").split("?")[0].replace("/", "-")
                    screenshot(page, f"{name}-{width}-{language}-{scheme}")
                finally:
                    context.close()
    assert problems == []


def test_phone_shows_the_wallet_and_the_menu_only_navigation(live_server, demo, new_page):
    page = new_page(viewport={"width": 390, "height": 800})
    page.goto(f"{live_server}/login")
    page.locator("#email").fill("demo@example.com")
    page.locator("#password").fill("demopass")
    page.locator("form.login-form button[type=submit]").click()
    page.wait_for_url(f"{live_server}/")
    assert page.locator('[data-field="net_assets"]').is_visible()
    assert page.locator(".balance-list > li[data-currency]").first.is_visible()
    menu = page.locator("#site-menu")
    assert not menu.is_visible()
    page.locator("#menu-toggle").click()
    assert menu.is_visible() and menu.locator(".wallet-widget, [data-field]").count() == 0
    assert menu.get_by_role("link", name="API keys").is_visible()
    screenshot(page, "phone-menu-open")


def test_sign_in_form_is_centred(live_server, new_page):
    for width in (390, 1366):
        page = new_page(viewport={"width": width, "height": 800})
        page.goto(f"{live_server}/login")
        box = page.locator("form.login-form").bounding_box()
        assert abs((box["x"] + box["width"] / 2) - width / 2) <= 2, box
