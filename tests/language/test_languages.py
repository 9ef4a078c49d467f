"""Which language a page is in, the language prompt's three answers, and the switcher."""
from __future__ import annotations

import re

import pytest
from conftest import sign_in
from sqlalchemy import select

from dashboard.extensions import db
from dashboard.models import Account

PROMPT_JA = "日本語で表示しますか?"
PROMPT_EN = "Show in English?"


@pytest.fixture
def app_config():
    return {"BABEL_DEFAULT_LOCALE": "ja"}


def lang_of(response) -> str:
    return re.search(r'<html lang="([^"]+)"', response.get_data(as_text=True)).group(1)


@pytest.mark.parametrize(
    "accept_language, cookie, expected",
    [
        (None, None, "ja"),                       # the configured default
        ("en-US,en;q=0.9", None, "en"),
        ("en-GB", None, "en"),
        ("ja-JP", None, "ja"),
        ("fr-FR, en;q=0.5, ja;q=0.4", None, "en"),  # quality values honoured
        ("ja;q=0.1, en;q=0.9", None, "en"),
        ("fr", None, "ja"),                       # nothing matches: the default
        ("en", "ja", "ja"),                       # the visitor's choice beats the browser
        ("ja", "en", "en"),
        ("en", "xx", "en"),                       # a bad cookie is ignored
        ("x" * 100_000, None, "ja"),              # malformed and huge: the default, no 500
        (";;;q=abc,,,", "<script>", "ja"),
    ],
)
def test_language_of_a_page(client, accept_language, cookie, expected):
    headers = {"Accept-Language": accept_language} if accept_language else {}
    if cookie:
        client.set_cookie("lang", cookie)
    response = client.get("/login", headers=headers)
    assert response.status_code == 200
    assert lang_of(response) == expected


def test_account_preference_beats_cookie_and_browser(app, client, demo):
    with app.app_context():
        db.session.execute(select(Account)).scalar_one().preferred_language = "en"
        db.session.commit()
    sign_in(client)
    client.set_cookie("lang", "ja")
    assert lang_of(client.get("/", headers={"Accept-Language": "ja"})) == "en"


def test_prompt_is_in_the_browsers_language(client):
    ja_browser_on_en_page = client.get("/login", headers={"Accept-Language": "ja-JP"}, query_string={})
    assert PROMPT_JA not in ja_browser_on_en_page.get_data(as_text=True)  # page is already ja
    client.set_cookie("lang", "en")
    html = client.get("/login", headers={"Accept-Language": "ja-JP"}).get_data(as_text=True)
    assert PROMPT_JA in html and "はい" in html and "いいえ" in html and "もう表示しない" in html
    assert 'lang="ja"' in re.search(r'<section class="language-prompt".*?</section>', html, re.S).group(0)
    client.set_cookie("lang", "ja")
    html = client.get("/login", headers={"Accept-Language": "en-US"}).get_data(as_text=True)
    assert PROMPT_EN in html and ">Yes<" in html and ">No<" in html and ">Never<" in html


def test_prompt_yes_switches_and_returns_to_the_same_page(client):
    client.set_cookie("lang", "en")
    response = client.post("/language/prompt", data={"answer": "yes", "lang": "ja", "next": "/login?x=1"}, headers={"Accept-Language": "ja"})
    assert response.status_code == 303 and response.location == "/login?x=1"
    assert client.get_cookie("lang").value == "ja"
    html = client.get("/login", headers={"Accept-Language": "ja"}).get_data(as_text=True)
    assert lang_of_html(html) == "ja" and PROMPT_JA not in html


def lang_of_html(html: str) -> str:
    return re.search(r'<html lang="([^"]+)"', html).group(1)


def test_prompt_no_hides_it_for_the_session_only(app, client):
    client.set_cookie("lang", "en")
    client.post("/language/prompt", data={"answer": "no", "lang": "ja", "next": "/login"})
    assert PROMPT_JA not in client.get("/login", headers={"Accept-Language": "ja"}).get_data(as_text=True)
    fresh = app.test_client()  # a new browser session
    fresh.set_cookie("lang", "en")
    assert PROMPT_JA in fresh.get("/login", headers={"Accept-Language": "ja"}).get_data(as_text=True)


def test_prompt_never_is_kept_in_a_long_lived_cookie_and_on_the_account(app, client, demo):
    sign_in(client)
    client.set_cookie("lang", "en")
    response = client.post("/language/prompt", data={"answer": "never", "lang": "ja", "next": "/"})
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("lang_prompt="))
    assert "Max-Age=34560000" in cookie and "HttpOnly" in cookie
    with app.app_context():
        assert db.session.execute(select(Account.never_prompt_language)).scalar_one() is True
    other_browser = app.test_client()
    sign_in(other_browser)
    other_browser.set_cookie("lang", "en")
    assert PROMPT_JA not in other_browser.get("/", headers={"Accept-Language": "ja"}).get_data(as_text=True)


def test_switcher_saves_the_choice_on_the_account(app, client, demo):
    sign_in(client)
    response = client.post("/language/", data={"lang": "en", "next": "/"})
    assert response.status_code == 303 and response.location == "/"
    with app.app_context():
        assert db.session.execute(select(Account.preferred_language)).scalar_one() == "en"
    html = client.get("/").get_data(as_text=True)
    assert lang_of_html(html) == "en" and "Net Assets" in html
    client.post("/language/", data={"lang": "ja", "next": "/"})
    html = client.get("/").get_data(as_text=True)
    assert lang_of_html(html) == "ja" and "総資産" in html and "Net Assets" not in html


@pytest.mark.parametrize("value", ["", "fr", "JA ", "<script>alert(1)</script>", "en\r\nX: y", "x" * 10_000, "中文"])
def test_language_endpoint_refuses_anything_but_ja_and_en(client, value):
    response = client.post("/language/", data={"lang": value, "next": "/login"})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    if value.strip():
        assert value not in body  # never echoed back
    assert not any(h.startswith("lang=") for h in response.headers.getlist("Set-Cookie"))


@pytest.mark.parametrize(
    "next_path",
    ["//evil.example", "https://evil.example", "/\\evil.example", "/%2F%2Fevil.example", "%2F%2Fevil.example",
     "/%5Cevil.example", "javascript:alert(1)", "/\t/evil.example", "http:/evil.example", "", "x" * 5000],
)
def test_return_address_accepts_only_same_site_paths(client, next_path):
    response = client.post("/language/", data={"lang": "en", "next": next_path})
    assert response.status_code == 303
    assert response.location == "/"


def test_prompt_refuses_unknown_answers(client):
    assert client.post("/language/prompt", data={"answer": "maybe", "lang": "ja"}).status_code == 400
    assert client.post("/language/prompt", data={"answer": "yes", "lang": "de"}).status_code == 400


def test_numbers_and_times_follow_the_language(client, demo):
    sign_in(client)
    client.set_cookie("lang", "en")
    en = client.get("/").get_data(as_text=True)
    client.set_cookie("lang", "ja")
    ja = client.get("/").get_data(as_text=True)
    figure = re.compile(r'data-field="net_assets">([^<]+)<')
    assert figure.search(en).group(1) == figure.search(ja).group(1)
    assert "(Japan Standard Time)" in en and "(日本標準時)" in ja
