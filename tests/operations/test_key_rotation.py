"""SECRET_KEY rotation: with the old key in SECRET_KEY_FALLBACKS, a session signed with it still
opens; without it, the browser is signed out (never an error)."""
from __future__ import annotations

import pytest
from conftest import make_app, sign_in

OLD, NEW = "old-secret-key-" + "o" * 32, "new-secret-key-" + "n" * 32


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_session_signed_with_the_old_key_opens_while_it_is_a_fallback(database_urls, backend, demo, app):
    before = make_app(database_urls(backend), SECRET_KEY=OLD).test_client()
    sign_in(before)
    cookie = before.get_cookie("session").value

    rotated = make_app(database_urls(backend), SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=[OLD]).test_client()
    rotated.set_cookie("session", cookie)
    assert rotated.get("/api/balance").status_code == 200

    dropped = make_app(database_urls(backend), SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=[]).test_client()
    dropped.set_cookie("session", cookie)
    assert dropped.get("/api/balance").status_code == 401


def test_fallbacks_come_from_the_environment_comma_separated(monkeypatch):
    from dashboard.config import from_environment

    monkeypatch.setenv("SECRET_KEY_FALLBACKS", "first-old-key,second-old-key,")
    assert from_environment()["SECRET_KEY_FALLBACKS"] == ["first-old-key", "second-old-key"]
    monkeypatch.delenv("SECRET_KEY_FALLBACKS")
    assert from_environment()["SECRET_KEY_FALLBACKS"] == []
