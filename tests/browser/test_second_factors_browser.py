"""Passkeys through Chromium's virtual authenticator (CDP WebAuthn) and authenticator codes
with real TOTP codes, on http://localhost (Chromium refuses 127.0.0.1 as a relying party)."""
from __future__ import annotations

import re

import pyotp
import pytest

from .conftest import screenshot

pytestmark = pytest.mark.browser


def on_localhost(live_server: str) -> str:
    return live_server.replace("127.0.0.1", "localhost")


def with_virtual_authenticator(page):
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True, "automaticPresenceSimulation": True}})
    return cdp


def password_sign_in(page, base):
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill("demo@example.com")
    page.get_by_label("Password").fill("demopass")
    page.locator("form.login-form button[type=submit]").click()


def security_page_with_an_authenticator(live_server, new_page):
    """Signed in with the password, on /security, with Chromium's virtual authenticator."""
    base = on_localhost(live_server)
    page = new_page()
    with_virtual_authenticator(page)
    password_sign_in(page, base)
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/security")
    return page, base


def test_add_a_passkey_then_sign_in_with_it_alone(live_server, demo, new_page):
    page, base = security_page_with_an_authenticator(live_server, new_page)
    page.get_by_label("Name of the new passkey").fill("Laptop")
    page.get_by_role("button", name="Add a passkey").click()
    page.wait_for_selector("text=Passkey added.")
    assert page.locator("table.passkeys input[name=name]").input_value() == "Laptop"
    screenshot(page, "security-passkey-added")

    page.locator("form.sign-out button").click()
    page.wait_for_url(re.compile(r".*/login.*"))
    page.get_by_role("button", name="Sign in with a passkey").click()
    page.wait_for_url(f"{base}/")
    assert page.locator(".net-assets-amount").inner_text().startswith("¥ ")

    # With a passkey on the account, the password alone no longer signs in.
    page.locator("form.sign-out button").click()
    password_sign_in(page, base)
    page.wait_for_url(f"{base}/login/verify")
    page.get_by_role("button", name="Use a passkey").click()
    page.wait_for_url(f"{base}/")

    # Rename and remove.
    page.goto(f"{base}/security")
    page.locator("table.passkeys input[name=name]").fill("Work laptop")
    page.get_by_role("button", name="Rename").click()
    page.wait_for_selector("text=Passkey renamed.")
    page.get_by_role("button", name="Remove").click()
    page.wait_for_selector("text=No passkeys yet.")


def test_an_old_confirmation_asks_for_the_password_then_adds_the_passkey(app, live_server, demo, new_page):
    page, base = security_page_with_an_authenticator(live_server, new_page)
    app.config["CONFIRM_SECONDS"] = -1  # the sign-in's confirmation is past
    page.get_by_role("button", name="Add a passkey").click()
    page.wait_for_url(re.compile(r".*/security/confirm\?next=/security%23passkeys$"))
    assert "Confirm your password to make this change." in page.content()
    screenshot(page, "security-confirm")
    app.config["CONFIRM_SECONDS"] = 600
    page.get_by_label("Your password").fill("demopass")
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(f"{base}/security#passkeys")
    page.get_by_role("button", name="Add a passkey").click()
    page.wait_for_selector("text=Passkey added.")


def test_authenticator_codes_and_a_recovery_code(live_server, demo, new_page):
    base = on_localhost(live_server)
    page = new_page()
    password_sign_in(page, base)
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/security")
    page.get_by_role("button", name="Set up").click()
    assert page.locator(".totp-qr svg").count() == 1
    secret = page.locator(".totp-secret").inner_text().replace(" ", "")
    page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on").click()
    codes = page.locator(".recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    screenshot(page, "security-recovery-codes")

    page.locator("form.sign-out button").click()
    password_sign_in(page, base)
    page.wait_for_url(f"{base}/login/verify")
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{base}/")
    assert "9 left" in page.locator(".flashes").inner_text()

    page.locator("form.sign-out button").click()
    password_sign_in(page, base)
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Continue").click()
    assert page.get_by_role("alert").inner_text() == "That code is not valid. Check it and try again."
