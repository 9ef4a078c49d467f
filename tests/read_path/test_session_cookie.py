"""The remembered session cookies: the same answers as Flask's own verification, only cheaper."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
from flask import Flask, session

from dashboard.read_path import session_cookie
from dashboard.read_path.session_cookie import MemoisedCookieSessionInterface


@pytest.fixture(params=[20_000, 0], ids=["memo", "no-memo"])
def small_app(request):
    app = Flask(__name__)
    app.secret_key = "s" * 40
    app.permanent_session_lifetime = timedelta(days=1)
    app.session_interface = MemoisedCookieSessionInterface(request.param)

    @app.get("/set")
    def set_value():
        session["items"] = ["a"]
        session["user"] = "u1"
        return "ok"

    @app.get("/read")
    def read():
        return {"user": session.get("user"), "items": session.get("items")}

    @app.get("/mutate")
    def mutate():
        session["items"].append("changed in place")  # not saved: Flask only saves what it sees modified
        return "ok"

    return app


def cookie_of(client) -> str:
    return client.get_cookie("session").value


def test_a_remembered_cookie_reads_as_verified(small_app):
    client = small_app.test_client()
    client.get("/set")
    assert client.get("/read").get_json() == {"user": "u1", "items": ["a"]}
    assert client.get("/read").get_json() == {"user": "u1", "items": ["a"]}  # from the memo


def test_a_tampered_cookie_is_refused_after_the_original_was_remembered(small_app):
    client = small_app.test_client()
    client.get("/set")
    client.get("/read")
    value = cookie_of(client)
    tampered = value[:-2] + ("AA" if not value.endswith("AA") else "BB")
    client.set_cookie("session", tampered)
    assert client.get("/read").get_json() == {"user": None, "items": None}


def test_a_cookie_older_than_the_lifetime_is_refused_even_when_remembered(small_app, monkeypatch):
    client = small_app.test_client()
    client.get("/set")
    assert client.get("/read").get_json()["user"] == "u1"
    later = time.time() + timedelta(days=2).total_seconds()
    monkeypatch.setattr(session_cookie.time, "time", lambda: later)
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: later)
    assert client.get("/read").get_json()["user"] is None


def test_changing_a_session_in_place_does_not_change_what_is_remembered(small_app):
    client = small_app.test_client()
    client.get("/set")
    client.get("/read")
    client.get("/mutate")
    assert client.get("/read").get_json()["items"] == ["a"]


def test_the_app_uses_it_with_its_configured_size(app):
    assert isinstance(app.session_interface, MemoisedCookieSessionInterface)
    assert app.session_interface._verified.maxsize == app.config["READ_CACHE_COOKIES"]


def test_an_unchanged_session_sends_no_cookie_but_varies_on_it(signed_in):
    answer = signed_in.get("/api/balance")
    assert "Set-Cookie" not in answer.headers
    assert answer.headers["Vary"] == "Cookie"
    # A changed session is sent again (signing out empties it: the cookie is deleted).
    out = signed_in.post("/logout")
    assert "session=" in out.headers.get("Set-Cookie", "")
    assert "Cookie" in out.headers["Vary"]
