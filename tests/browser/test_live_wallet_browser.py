"""The live wallet in a real browser: a rate tick reaches the open page over its stream, in
place (figures, header, allocation), and the page falls back to its refresh without the stream."""
from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from dashboard.extensions import db
from dashboard.ledger.rate_updates import store_rate

from .conftest import browser_sign_in

pytestmark = pytest.mark.browser

NET_ASSETS = '.wallet-widget [data-field="net_assets"]'
HEADER_AMOUNT = "#header-net-assets"
ALLOCATION = ".allocation-table"


@pytest.fixture
def live_site(app):
    """The app as scripts/run.sh serves it: one uvicorn, the Flask app and /api/stream together."""
    import uvicorn
    from a2wsgi import WSGIMiddleware

    from dashboard.live.stream import stream_app

    server = uvicorn.Server(uvicorn.Config(stream_app(app, rest=WSGIMiddleware(app, workers=4)), host="127.0.0.1",
                                           port=0, log_level="warning", lifespan="on", loop="asyncio", http="h11"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the server did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=10)


def tick(app, rate: str) -> None:
    with app.app_context():
        store_rate("btc", Decimal(rate), as_of=datetime.now(UTC), source="test")
        db.session.commit()


def test_a_tick_reaches_the_open_page_in_place(app, demo, live_site, new_page):
    page = new_page()
    browser_sign_in(page, live_site)
    # The stream delivered its first figures: the header's live region no longer reads out ticks.
    # A function, not an expression: Playwright polls an expression that is not yet true through
    # eval, which the page's CSP refuses (the test failed whenever the first event came late).
    page.wait_for_function("(selector) => document.querySelector(selector).getAttribute('aria-live') === 'off'",
                           arg=HEADER_AMOUNT)
    page.evaluate("window.notReloaded = true")
    figure = page.locator(NET_ASSETS).inner_text()
    shares = page.locator(ALLOCATION).inner_text()
    tick(app, "99000000")
    page.wait_for_function("([selector, before]) => document.querySelector(selector).textContent !== before",
                           arg=[NET_ASSETS, figure])
    after = page.locator(NET_ASSETS).inner_text()
    assert after != figure
    assert page.locator(HEADER_AMOUNT).inner_text() == f"¥ {after}"
    assert page.locator(ALLOCATION).inner_text() != shares
    assert page.evaluate("window.notReloaded") is True
    # Still the stream's doing: a broken stream hands the figures back to the refresh, and the
    # header's live region with them.
    assert page.locator(HEADER_AMOUNT).get_attribute("aria-live") == "off"
    # A rate tick is not announced; the status region says nothing.
    assert page.locator("#refresh-status").inner_text() == ""


@pytest.fixture
def app_config():
    return {"REFRESH_SECONDS": 1}


def test_without_the_stream_the_page_refreshes_as_before(app, demo, live_server, new_page):
    # The plain Flask app: nothing serves /api/stream (the stream process is down).
    page = new_page()
    browser_sign_in(page, live_server)
    page.evaluate("window.notReloaded = true")
    figure = page.locator(NET_ASSETS).inner_text()
    tick(app, "98000000")
    page.wait_for_function("([selector, before]) => document.querySelector(selector).textContent !== before",
                           arg=[NET_ASSETS, figure])
    assert page.evaluate("window.notReloaded") is True
    assert page.locator(HEADER_AMOUNT).get_attribute("aria-live") == "polite"
