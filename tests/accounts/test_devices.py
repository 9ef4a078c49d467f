"""The Security page names each signed-in browser from its User-Agent (ua-parser)."""
from __future__ import annotations

import pytest
from conftest import sign_in

from dashboard.accounts.devices import browser_and_system

IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.5 Mobile/15E148 Safari/604.1")
WINDOWS_EDGE = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0")


@pytest.mark.parametrize(("user_agent", "named"), [
    (IPHONE, ("Mobile Safari", "iOS")),
    (WINDOWS_EDGE, ("Edge", "Windows")),
    ("python-requests/2.31", ("Python Requests", None)),
    ("", (None, None)),
    ("x" * 200, (None, None)),
    ("<script>alert(1)</script>", (None, None)),
])
def test_browser_and_system_by_the_shared_rules(user_agent, named):
    assert browser_and_system(user_agent) == named


def test_the_security_page_names_each_browser_in_the_page_language(app, client, demo):
    sign_in(app.test_client(), password="demopass")  # another browser, named by no User-Agent of its own
    client.environ_base["HTTP_USER_AGENT"] = IPHONE
    sign_in(client)
    page = client.get("/security").get_data(as_text=True)
    assert "Mobile Safari on iOS" in page
    assert f'title="{IPHONE}"' in page  # the whole string stays at hand
    client.set_cookie("lang", "ja")
    assert "iOS の Mobile Safari" in client.get("/security").get_data(as_text=True)


def test_an_unknown_user_agent_is_shown_as_an_unknown_device(app, client, demo):
    client.environ_base["HTTP_USER_AGENT"] = "<b>not a browser</b>"
    sign_in(client)
    page = client.get("/security").get_data(as_text=True)
    assert "Unknown device" in page
    assert "<b>not a browser</b>" not in page  # escaped in the title
