"""The Security page's sessions: one other browser signed out at a time, the latest ten listed
with a way to see all."""
from __future__ import annotations

import re

import pytest
from conftest import sign_in

from dashboard.extensions import db
from dashboard.models import LoginSession


def other_sessions(html: str) -> list[str]:
    return re.findall(r'<input type="hidden" name="session" value="([0-9a-f]{64})">', html)


def test_one_other_browser_is_signed_out_and_only_it(app, client, demo):
    sign_in(client)
    others = [app.test_client() for _ in range(2)]
    for other in others:
        sign_in(other)
    html = client.get("/security").get_data(as_text=True)
    hashes = other_sessions(html)
    assert len(hashes) == 2  # never a button for this browser itself
    response = client.post("/security/sessions/end", data={"session": hashes[0]})
    assert response.status_code == 302 and response.location.endswith("/security#sessions")
    assert "That browser is signed out." in client.get("/security").get_data(as_text=True)
    with app.app_context():
        left = set(db.session.execute(db.select(LoginSession.token_hash)).scalars())
    assert hashes[0] not in left and hashes[1] in left and len(left) == 2
    # Again: nothing left to sign out, said so.
    client.post("/security/sessions/end", data={"session": hashes[0]})
    assert "That browser was already signed out." in client.get("/security").get_data(as_text=True)


def test_this_browser_cannot_be_ended_this_way(app, client, demo):
    sign_in(client)
    with app.app_context():
        mine = db.session.execute(db.select(LoginSession.token_hash)).scalar_one()
    client.post("/security/sessions/end", data={"session": mine})
    assert client.get("/security").status_code == 200  # still signed in


@pytest.mark.parametrize("value", ["", "x" * 64, "ABC", "0" * 63, "0" * 65, "../../", "0" * 64 + "\x00"])
def test_a_bad_session_is_refused(client, demo, value):
    sign_in(client)
    assert client.post("/security/sessions/end", data={"session": value}).status_code == 400


def test_the_latest_ten_then_all(app, client, demo):
    others = [app.test_client() for _ in range(11)]
    for other in others:
        sign_in(other)
    sign_in(client)
    html = client.get("/security").get_data(as_text=True)
    rows = re.findall(r"<tr>\s*<th scope=\"row\">", html.split('id="sessions"')[1].split("</table>")[0])
    assert len(rows) == 10 and "Show all 12 sessions" in html
    everything = client.get("/security?sessions=all").get_data(as_text=True)
    rows = re.findall(r"<tr>\s*<th scope=\"row\">", everything.split('id="sessions"')[1].split("</table>")[0])
    assert len(rows) == 12 and "Show all" not in everything
