"""CSRF on every state change, security headers on every route, cookies, sessions."""
from __future__ import annotations

import pytest
from conftest import csrf_token_in, sign_in_with_csrf
from sqlalchemy import select

from dashboard.extensions import db
from dashboard.models import Account


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True, "BABEL_DEFAULT_LOCALE": "en"}




STATE_CHANGES = [
    ("/logout", {}),
    ("/preferences/header", {"next": "/"}),
    ("/language/", {"lang": "en", "next": "/"}),
    ("/language/prompt", {"answer": "never", "lang": "ja", "next": "/"}),
]


@pytest.mark.parametrize("path, data", STATE_CHANGES)
@pytest.mark.parametrize("token", [None, "", "wrong-token", "x" * 5000])
def test_forms_without_a_valid_token_get_400_and_change_nothing(app, client, demo, path, data, token):
    sign_in_with_csrf(client)
    if token is not None:
        data = dict(data, csrf_token=token)
    client.set_cookie("lang", "ja")
    response = client.post(path, data=data)
    assert response.status_code == 400
    assert "フォームの有効期限が切れているか" in response.get_data(as_text=True)
    with app.app_context():
        account = db.session.execute(select(Account)).scalar_one()
        assert account.show_net_assets_in_header is True
        assert account.preferred_language is None and account.never_prompt_language is False
    assert client.get("/").status_code == 200  # still signed in


def test_sign_in_form_needs_the_token_too(client, demo):
    response = client.post("/login", data={"email": "demo@example.com", "password": "demopass"})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_api_preferences_needs_the_header_token(app, client, demo):
    token = sign_in_with_csrf(client)
    client.set_cookie("lang", "ja")
    refused = client.post("/api/preferences", json={"show_in_header": False})
    assert refused.status_code == 400 and refused.is_json
    assert "フォームの有効期限" in refused.get_json()["error"]
    accepted = client.post("/api/preferences", json={"show_in_header": False}, headers={"X-CSRFToken": token})
    assert accepted.status_code == 200
    with app.app_context():
        assert db.session.execute(select(Account.show_net_assets_in_header)).scalar_one() is False


def all_routes(app):
    for rule in app.url_map.iter_rules():
        if "<" in rule.rule:
            yield rule.rule.replace("<path:filename>", "css/dashboard.css"), rule.methods
        else:
            yield rule.rule, rule.methods


EXPECTED_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def check_headers(response):
    csp = response.headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "unsafe-inline" not in csp and "http" not in csp
    for name, value in EXPECTED_HEADERS.items():
        assert response.headers.get(name) == value, name


def test_every_route_carries_the_headers_signed_in_or_not(app, client, demo):
    routes = list(all_routes(app))
    assert len(routes) >= 8
    for signed_in in (False, True):
        if signed_in:
            sign_in_with_csrf(client)
        for path, methods in routes:
            for method in sorted(methods - {"HEAD", "OPTIONS"}):
                response = client.open(path, method=method)
                assert response.status_code < 500, (method, path)
                check_headers(response)
    check_headers(client.get("/no-such-page"))


def test_hsts_and_secure_cookies_when_configured_for_https(backend, database_urls):
    from conftest import make_app

    app = make_app(database_urls(backend), HSTS=True, SESSION_COOKIE_SECURE=True)
    response = app.test_client().get("/login", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "Secure" in cookie
    app2 = make_app(database_urls(backend))
    assert "Strict-Transport-Security" not in app2.test_client().get("/login").headers


def test_session_cookie_flags_and_a_new_session_at_sign_in(app, client, demo):
    token = csrf_token_in(client.get("/login").get_data(as_text=True))
    with client.session_transaction() as session:
        session["planted"] = "by-an-attacker"
    before = client.get_cookie("session", domain="localhost").value
    response = client.post("/login", data={"email": "demo@example.com", "password": "demopass", "csrf_token": token})
    assert response.status_code == 302
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    with client.session_transaction() as session:
        assert "planted" not in session
    assert client.get_cookie("session", domain="localhost").value != before


def test_escaping_of_what_the_database_holds(app, client):
    from dashboard.models import Account

    # Written straight to the database: account creation itself now refuses such an address,
    # but the database is trusted, not believed to be harmless.
    with app.app_context():
        account = Account(email="<script>alert(1)</script>@x.example")
        account.set_password("password123")
        db.session.add(account)
        db.session.commit()
    response = client.post("/login", data={"email": "<script>alert(1)</script>@x.example", "password": "password123"})
    # CSRF is on in this module: the refusal page must not echo raw HTML either
    assert "<script>alert(1)</script>" not in response.get_data(as_text=True)
