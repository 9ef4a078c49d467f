"""Every input path tried with bad values: a clear 4xx (never a 500 or a trace) and nothing written."""
from __future__ import annotations

import pytest
from conftest import sign_in
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from dashboard.extensions import db
from dashboard.models import Account, Balance, Rate

MEGABYTE = "x" * (1024 * 1024)
BAD_VALUES = {
    "empty": "",
    "huge": MEGABYTE,
    "control": "a\x00b\x1b[31m\r\nSet-Cookie: x=y",
    "html": '<script>alert("x")</script><img src=x onerror=alert(1)>',
    "sql": "' OR '1'='1'; DROP TABLE accounts; --",
    "unicode": "\ud800" if False else "\u202e\ufeff𝟙",  # bidi override, BOM, astral
    "number": "1e400",
}
NON_UTF8 = b"\xff\xfe\xc3\x28\xa0\xa1"


def snapshot(app):
    with app.app_context():
        return (
            db.session.execute(select(Account.email, Account.preferred_language, Account.never_prompt_language,
                                      Account.show_net_assets_in_header, Account.password_hash)).all(),
            sorted(db.session.execute(select(Balance.currency_code, Balance.available, Balance.in_use)).all()),
            sorted(db.session.execute(select(Rate.currency_code, Rate.jpy_rate)).all()),
        )


def assert_clean_refusal(response, allowed=range(400, 500)):
    body = response.get_data(as_text=True)
    assert response.status_code in allowed, (response.status_code, body[:300])
    assert "Traceback" not in body and "sqlalchemy" not in body.lower()
    assert "<script>alert" not in body and "<img src=x" not in body  # escaped, never live HTML


FORM_FIELDS = [
    ("/login", "email", {"password": "demopass"}),
    ("/login", "password", {"email": "demo@example.com"}),
    ("/preferences/header", "show_in_header", {"next": "/"}),
    ("/language/", "lang", {"next": "/"}),
    ("/language/prompt", "answer", {"lang": "ja"}),
    ("/language/prompt", "lang", {"answer": "yes"}),
]


@pytest.mark.parametrize("kind", list(BAD_VALUES))
@pytest.mark.parametrize("path, field, others", FORM_FIELDS)
def test_form_fields(app, client, demo, path, field, others, kind):
    if path != "/login":
        sign_in(client)
    before = snapshot(app)
    response = client.post(path, data=dict(others, **{field: BAD_VALUES[kind]}), headers={"Accept-Language": "ja"})
    assert_clean_refusal(response)
    assert snapshot(app) == before


@pytest.mark.parametrize("path, field, others", FORM_FIELDS)
def test_form_fields_non_utf8_and_repeated(app, client, demo, path, field, others):
    if path != "/login":
        sign_in(client)
    before = snapshot(app)
    raw = b"&".join([f"{k}={v}".encode() for k, v in others.items()] + [field.encode() + b"=" + NON_UTF8])
    response = client.post(path, data=raw, content_type="application/x-www-form-urlencoded")
    assert_clean_refusal(response)
    repeated = client.post(path, data=MultiDict([(field, "x"), (field, "y")] + list(others.items())))  # a list, not a value
    assert_clean_refusal(repeated)
    assert snapshot(app) == before


def test_login_with_huge_body_is_413_in_the_page_language(client, demo):
    client.set_cookie("lang", "ja")
    response = client.post("/login", data={"email": MEGABYTE, "password": "x"})
    assert response.status_code == 413
    assert "リクエストが大きすぎます" in response.get_data(as_text=True)


JSON_BODIES = [
    b"", b"{", b"null", b"1e400", b'"true"', b"[]", b'{"show_in_header": "yes"}', b'{"show_in_header": 1}',
    b'{"show_in_header": [true]}', b'{"show_in_header": {"$ne": 0}}', b'{"show_in_header": true, "account_id": 2}',
    b'{"show_in_header": "<script>"}', NON_UTF8, b"\xef\xbb\xbf{}", MEGABYTE.encode(),
    b'{"show_in_header": ' + b"[" * 5000 + b"]" * 5000 + b"}",
]


@pytest.mark.parametrize("body", JSON_BODIES, ids=range(len(JSON_BODIES)))
def test_api_preferences_bodies(app, client, demo, body):
    sign_in(client)
    before = snapshot(app)
    response = client.post("/api/preferences", data=body, content_type="application/json", headers={"Accept-Language": "ja"})
    assert_clean_refusal(response)
    assert response.is_json and response.get_json()["success"] is False
    assert snapshot(app) == before


@pytest.mark.parametrize("kind", list(BAD_VALUES))
@pytest.mark.parametrize("path", ["/", "/login", "/api/balance"])
def test_query_strings_are_ignored_or_refused_never_500(app, client, demo, path, kind):
    sign_in(client)
    value = BAD_VALUES[kind][:4000]
    response = client.get(path, query_string={"next": value, "lang": value, "account_id": "2", "q": value})
    assert_clean_refusal(response, allowed=range(200, 500))
    if path == "/api/balance":
        assert response.status_code == 200  # only ever the signed-in account's own balances
        assert value not in response.get_data(as_text=True) or value == ""


@pytest.mark.parametrize("kind", list(BAD_VALUES) + ["bytes"])
@pytest.mark.parametrize("cookie", ["session", "lang", "lang_prompt"])
def test_cookies(app, client, demo, cookie, kind):
    value = BAD_VALUES.get(kind, NON_UTF8.decode("latin-1"))[:4000]
    client.set_cookie(cookie, value)
    response = client.get("/login")
    assert_clean_refusal(response, allowed=range(200, 300))
    assert '<html lang="en">' in response.get_data(as_text=True) or cookie != "lang"  # the default


@pytest.mark.parametrize("kind", list(BAD_VALUES))
@pytest.mark.parametrize("header", ["Accept-Language", "X-CSRFToken", "X-Forwarded-For", "Content-Type", "Cookie"])
def test_headers(app, client, demo, header, kind):
    sign_in(client)
    before = snapshot(app)
    value = BAD_VALUES[kind].replace("\r\n", " ").replace("\x00", " ")
    get = client.get("/", headers={header: value})
    assert_clean_refusal(get, allowed=range(200, 500))
    post = client.post("/api/preferences", data=b'{"show_in_header": false}', headers={header: value, "Content-Type": "application/json"} if header != "Content-Type" else {header: value})
    assert_clean_refusal(post, allowed=range(200, 500))
    if header == "Content-Type":
        assert post.status_code == 400
    if post.status_code >= 400:
        assert snapshot(app) == before  # a refused request wrote nothing


@pytest.mark.parametrize("kind", list(BAD_VALUES))
def test_cli_users_create(app, runner, kind):
    before = snapshot(app)
    result = runner.invoke(args=["users", "create", BAD_VALUES[kind][:100_000]], input="s3cret-pass\ns3cret-pass\n")
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "Error:" in result.output
    assert snapshot(app) == before


def test_cli_unknown_commands_and_options(runner):
    for args in (["users"], ["users", "create"], ["users", "create", "a@example.com", "--nope"], ["seed-demo", "extra"]):
        result = runner.invoke(args=args)
        assert result.exit_code != 0
