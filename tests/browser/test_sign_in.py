"""The demo account signs in through a real browser."""
from __future__ import annotations

import pytest

from .conftest import browser_sign_in, screenshot

pytestmark = pytest.mark.browser


def test_demo_account_signs_in_and_sees_net_assets(live_server, demo, new_page):
    page = new_page()
    browser_sign_in(page, live_server)
    assert page.locator(".net-assets-amount").inner_text().startswith("¥ ")
    page.goto(f"{live_server}/api-keys")  # the wallet page shows the figure itself; the header, elsewhere
    assert page.locator("#header-net-assets").inner_text().startswith("¥ ")
    screenshot(page, "signed-in-wide")


def test_wrong_password_stays_on_the_sign_in_page(live_server, demo, new_page):
    page = new_page()
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill("demo@example.com")
    page.get_by_label("Password").fill("wrong-password")
    page.locator("form.login-form button[type=submit]").click()
    assert page.get_by_role("alert").inner_text() == "Incorrect email or password."
