"""axe-core on every page and in every state: zero violations, in both languages and schemes.

axe is the vendored axe-core (tests/browser/vendor/), put into the page by Playwright; the
page's Content-Security-Policy would refuse that script, so these contexts bypass it."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import delete, select

from dashboard.accounts.store import create_account
from dashboard.extensions import db
from dashboard.ledger import reasons
from dashboard.ledger.changes import adjust
from dashboard.models import Account, AuthenticatorApp, Passkey, Rate, RecoveryCode

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


def sign_in(page, live_server, email="demo@example.com", password="demopass"):
    page.goto(f"{live_server}/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
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
            # The compact rows below 64rem, one of them open, and the list's choices.
            page.locator('.balance-list > li[data-currency="xem"] summary').click()
            check(f"wallet-phone-row-open-{state}", page)
            page.locator("#hide-small-balances").click()
            page.locator('.balance-list > li[data-currency="zec"]').wait_for(state="hidden")
            check(f"wallet-phone-small-hidden-{state}", page)
            page.locator("#hide-small-balances").click()
            page.locator('.balance-list > li[data-currency="zec"]').wait_for()
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


def compensate_a_holder(app, runner, tmp_path) -> None:
    """holder@example.com held 10,000 XEM in January 2018 and was compensated at the reference's
    rate (the demo account's journal starts later, so a second account stands for the holder)."""
    with app.app_context():
        create_account("holder@example.com", "holderpass")
        db.session.commit()
    january = tmp_path / "january.csv"
    january.write_text("email,currency,available,in_use\nholder@example.com,xem,10000,0\nholder@example.com,jpy,500,0\n")
    assert runner.invoke(args=["balances", "import", str(january), "--as-of", "2018-01-20T10:00:00+09:00"]).exit_code == 0
    with app.app_context():  # enough entries since for three pages, the compensation newest of all
        holder = db.session.execute(select(Account).where(Account.email == "holder@example.com")).scalar_one()
        for _ in range(40):
            adjust(holder.id, "jpy", available=Decimal(1), reason=reasons.adjustment(), source="test")
        db.session.commit()
    plan = tmp_path / "plan.csv"
    assert runner.invoke(args=["compensation", "plan", "--currency", "xem", "--rate", "88.549",
                               "--snapshot", "2018-01-26T23:59:59+09:00", "--out", str(plan)]).exit_code == 0
    assert runner.invoke(args=["compensation", "apply", str(plan)]).exit_code == 0


def set_accounts(app, **values) -> None:
    """Every account's saved settings, e.g. discreet=True, preferred_language="ja"."""
    with app.app_context():
        for account in db.session.execute(select(Account)).scalars():
            for name, value in values.items():
                setattr(account, name, value)
        db.session.commit()


def test_axe_finds_nothing_on_the_activity_page(app, live_server, demo, browser, runner, tmp_path):
    compensate_a_holder(app, runner, tmp_path)
    found = {}
    # In full, or without its figures when amounts are hidden.
    compensation = {"en": "NEM compensation: ¥88.549 × 10,000 XEM", "ja": "NEM 補償：88.549 円 × 10,000 XEM"}
    for language in ("en", "ja"):
        for scheme in ("light", "dark"):
            set_accounts(app, preferred_language=language)  # the account's language would beat the browser's cookie
            context = context_for(browser, live_server, language=language, scheme=scheme)
            page = context.new_page()
            sign_in(page, live_server, "holder@example.com", "holderpass")
            for width in (390, 1280):
                page.set_viewport_size({"width": width, "height": 800})
                for discreet in (False, True):
                    set_accounts(app, discreet=discreet)
                    page.goto(f"{live_server}/activity")
                    reason = page.locator(".activity-reason").first.inner_text()
                    assert reason.startswith("NEM") and (reason == compensation[language]) is not discreet, reason
                    assert page.locator(".activity-figures").count() == (0 if discreet else 20)
                    name = f"activity-{language}-{scheme}-{width}-discreet-{'on' if discreet else 'off'}"
                    screenshot(page, f"axe-{name}")
                    if problems := violations(page):
                        found[name] = problems
            context.close()
        # The middle page: the pager with both its links.
        set_accounts(app, discreet=False)
        context = context_for(browser, live_server, language=language, width=390)
        page = context.new_page()
        sign_in(page, live_server, "holder@example.com", "holderpass")
        page.goto(f"{live_server}/activity?page=2")
        assert page.locator(".pager a").count() == 2
        screenshot(page, f"axe-activity-pager-{language}")
        if problems := violations(page):
            found[f"activity-pager-{language}"] = problems
        context.close()
    assert found == {}, json.dumps(found, indent=1)


def test_axe_finds_nothing_on_the_security_page(app, live_server, demo, browser):
    found = {}

    def check(name, page):
        screenshot(page, f"axe-{name}")
        if problems := violations(page):
            found[name] = problems

    for language in ("en", "ja"):
        for scheme in ("light", "dark"):
            state = f"{language}-{scheme}"
            set_accounts(app, preferred_language=language)
            context = context_for(browser, live_server, language=language, scheme=scheme)
            page = context.new_page()
            sign_in(page, live_server)
            with app.app_context():  # added once signed in: with a passkey, a password alone would not sign in
                account = db.session.execute(select(Account)).scalar_one()
                db.session.add(Passkey(account_id=account.id, credential_id="credential-for-the-page", public_key=b"\x00",
                                       name="Laptop", last_used_at=datetime.now(UTC)))
                db.session.commit()
            page.goto(f"{live_server}/security")
            assert page.locator("table.passkeys tbody tr").count() == 1
            check(f"security-{state}", page)
            # A wrong current password: the field says so.
            page.locator("#current_password").fill("not the password")
            page.locator("#new_password").fill("a new password 1234")
            page.locator("#confirm").fill("a new password 1234")
            page.locator("#password form button[type=submit]").click()
            page.locator(".field-error").first.wait_for()
            check(f"security-password-error-{state}", page)
            # Setting up the authenticator app: the QR code and its key, then the recovery codes.
            page.locator("#authenticator form button[type=submit]").click()
            page.locator(".totp-qr svg").wait_for()
            check(f"security-authenticator-setup-{state}", page)
            page.locator("#authenticator input[inputmode=numeric]").fill(pyotp.TOTP(page.locator(".totp-secret").inner_text().replace(" ", "")).now())
            page.locator("#authenticator form button[type=submit]").click()
            page.locator(".recovery-codes").wait_for()
            check(f"security-recovery-codes-{state}", page)
            page.goto(f"{live_server}/security")
            check(f"security-authenticator-on-{state}", page)
            # The password asked again, and refused.
            page.goto(f"{live_server}/security/confirm?next=/security")
            page.locator("#confirm-password").fill("not the password")
            page.locator("form.confirm-form button[type=submit]").click()
            page.locator(".field-error").wait_for()
            check(f"security-confirm-error-{state}", page)
            context.close()
            with app.app_context():  # no second factor again, so that the next sign-in needs the password only
                db.session.execute(delete(Passkey))
                db.session.execute(delete(RecoveryCode))
                db.session.execute(delete(AuthenticatorApp))
                db.session.commit()
    assert found == {}, json.dumps(found, indent=1)


def test_the_check_itself_finds_a_fault(live_server, browser):
    # So that "no violations" above means something: a picture without a text alternative is caught.
    context = context_for(browser, live_server)
    page = context.new_page()
    page.goto(f"{live_server}/login")
    page.evaluate("document.querySelector('main').append(Object.assign(document.createElement('img'), {src: '/static/icons/currencies/btc.svg'}))")
    assert "image-alt" in {problem["id"] for problem in violations(page)}
    context.close()
