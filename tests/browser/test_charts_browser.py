"""The charts in a real Chromium: drawn with JavaScript off, named for assistive technology,
range links that navigate, "Hide amounts" switched without JavaScript, and a phone's width.
Names and roles are checked through the accessibility tree's own queries (get_by_role); axe-core
runs over the page with its charts in tests/browser/test_accessibility.py."""
from __future__ import annotations

import pytest

from dashboard.ledger.demo import seed_demo

from .conftest import browser_sign_in, screenshot


@pytest.fixture
def story(app):
    with app.app_context():
        seed_demo(story=True)


@pytest.mark.parametrize("javascript", [False, True])
def test_charts_show_and_are_named(live_server, story, new_page, javascript):
    page = new_page(java_script_enabled=javascript)
    browser_sign_in(page, live_server)
    allocation = page.get_by_role("img", name="Allocation")
    history = page.get_by_role("img", name="Net assets over time")
    assert allocation.is_visible() and history.is_visible()
    assert allocation.bounding_box()["width"] > 200 and history.bounding_box()["height"] > 100
    assert page.get_by_role("table", name="Allocation").is_visible()
    page.get_by_text("Show as a table").click()
    assert page.get_by_role("table", name="Net assets over time").is_visible()
    assert page.get_by_role("navigation", name="History range").get_by_role("link").count() == 5
    screenshot(page, f"charts-{'js' if javascript else 'no-js'}")


def test_range_links_and_hide_amounts_without_javascript(live_server, story, new_page):
    page = new_page(java_script_enabled=False)
    browser_sign_in(page, live_server)
    page.get_by_role("link", name="1W").click()
    page.wait_for_url(f"{live_server}/?range=1w#history")
    assert page.get_by_role("link", name="1W").get_attribute("aria-current") == "page"
    net = page.locator(".net-assets-amount").inner_text()
    assert any(ch.isdigit() for ch in net)
    page.get_by_role("switch", name="Hide amounts").check()
    page.locator('form[data-preference="discreet"] button[type=submit]').click()
    page.wait_for_url(f"{live_server}/")
    assert page.locator(".net-assets-amount").inner_text() == "¥ •••"
    assert page.get_by_role("img", name="Allocation").is_visible()
    screenshot(page, "charts-discreet")


def test_charts_fit_a_phone(live_server, story, new_page):
    page = new_page(viewport={"width": 375, "height": 740}, is_mobile=True)
    browser_sign_in(page, live_server)
    history = page.get_by_role("img", name="Net assets over time")
    box = history.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 375
    wide = page.evaluate("""[...document.querySelectorAll('#charts *')]
        .filter(e => e.getBoundingClientRect().right > 376).map(e => e.tagName + '.' + e.className.baseVal ?? e.className)""")
    assert wide == []
    screenshot(page, "charts-phone")
