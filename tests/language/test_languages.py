"""Which language a page is in, when the language prompt shows, its three answers, the switcher,
and how the browser's choices meet the account's at sign-in (issue 13's rule, on real requests)."""
from __future__ import annotations

import re

import pytest
from conftest import sign_in
from sqlalchemy import select, update

from dashboard import create_app
from dashboard.config import ConfigurationError
from dashboard.extensions import db
from dashboard.models import Account

PROMPT_JA = "日本語で表示しますか?"
PROMPT_EN = "Show in English?"
EN_BROWSER = {"Accept-Language": "en-US,en;q=0.9"}
JA_BROWSER = {"Accept-Language": "ja-JP,ja;q=0.9"}


@pytest.fixture
def app_config():
    return {"BABEL_DEFAULT_LOCALE": "ja"}


def lang_of(html: str) -> str:
    return re.search(r'<html lang="([^"]+)"', html).group(1)


def prompt_of(html: str) -> str | None:
    """The language the prompt offers (its lang attribute), or None when there is no prompt."""
    section = re.search(r'<section class="language-prompt"[^>]*lang="([^"]+)"', html)
    return section.group(1) if section else None


def page(client, path="/login", headers=EN_BROWSER) -> tuple[str, str | None]:
    response = client.get(path, headers=headers)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    return lang_of(html), prompt_of(html)


def set_account(app, **values):
    with app.app_context():
        db.session.execute(update(Account).values(**values))
        db.session.commit()


def account_settings(app) -> tuple[str | None, bool]:
    with app.app_context():
        return db.session.execute(select(Account.preferred_language, Account.never_prompt_language)).one()


def set_cookie_header(response, name: str) -> str | None:
    return next((h for h in response.headers.getlist("Set-Cookie") if h.startswith(name + "=")), None)


# --- the rule, signed out -----------------------------------------------------------------

@pytest.mark.parametrize(
    "accept_language, cookies, expected",
    [
        ("en-US,en;q=0.9", {}, ("ja", "en")),           # the source page: Japanese, "Show in English?"
        ("en-GB", {}, ("ja", "en")),
        ("fr-FR, en;q=0.5, ja;q=0.4", {}, ("ja", "en")),  # quality values decide the browser's language
        ("ja-JP", {}, ("ja", None)),                     # a Japanese browser on the Japanese page
        (None, {}, ("ja", None)),
        ("fr", {}, ("ja", None)),
        ("en", {"lang": "en"}, ("en", None)),            # "Yes" or the switcher: the choice holds
        ("en", {"lang": "ja"}, ("ja", None)),            # 日本語 chosen in an English browser: never asked
        ("ja", {"lang": "en"}, ("en", None)),
        ("en", {"lang_prompt": "no"}, ("ja", None)),
        ("en", {"lang_prompt": "never"}, ("ja", None)),
        ("en", {"lang": "xx", "lang_prompt": "maybe"}, ("ja", "en")),  # bad cookies count as absent
        ("en", {"lang": "<script>", "lang_prompt": "x" * 3000}, ("ja", "en")),
        ("x" * 100_000, {}, ("ja", None)),               # malformed and huge: the default, no 500
        (";;;q=abc,,,", {"lang": "\x00"}, ("ja", None)),
    ],
)
def test_language_and_prompt_signed_out(client, accept_language, cookies, expected):
    for name, value in cookies.items():
        client.set_cookie(name, value)
    headers = {"Accept-Language": accept_language} if accept_language else {}
    assert page(client, headers=headers) == expected


@pytest.mark.parametrize("path", ["/login", "/no-such-page"])
def test_an_english_browsers_first_visit_is_japanese_with_the_prompt_in_english(client, path):
    response = client.get(path, headers=EN_BROWSER)
    html = response.get_data(as_text=True)
    assert lang_of(html) == "ja" and "Wallet dashboard" not in html  # the title, translated
    prompt = re.search(r'<section class="language-prompt".*?</section>', html, re.S).group(0)
    assert PROMPT_EN in prompt and ">Yes<" in prompt and ">No<" in prompt and ">Never<" in prompt


@pytest.mark.parametrize("app_config", [{"BABEL_DEFAULT_LOCALE": "en"}])
def test_the_prompt_on_an_english_site_is_in_japanese(client):
    html = client.get("/login", headers=JA_BROWSER).get_data(as_text=True)
    assert lang_of(html) == "en"
    prompt = re.search(r'<section class="language-prompt".*?</section>', html, re.S).group(0)
    assert 'lang="ja"' in prompt and PROMPT_JA in prompt
    assert "はい" in prompt and "いいえ" in prompt and "もう表示しない" in prompt


# --- the rule, signed in ------------------------------------------------------------------

@pytest.mark.parametrize(
    "account, cookies, headers, expected",
    [
        ({}, {}, EN_BROWSER, ("ja", "en")),
        ({"preferred_language": "en"}, {}, EN_BROWSER, ("en", None)),
        ({"preferred_language": "en"}, {}, JA_BROWSER, ("en", None)),   # the account's choice in any browser
        ({"preferred_language": "ja"}, {}, EN_BROWSER, ("ja", None)),
        ({"preferred_language": "ja"}, {"lang": "en"}, EN_BROWSER, ("ja", None)),  # the account beats the cookie
        ({}, {"lang": "en"}, JA_BROWSER, ("en", None)),
        ({"never_prompt_language": True}, {}, EN_BROWSER, ("ja", None)),  # the account's "never" in any browser
        ({}, {"lang_prompt": "no"}, EN_BROWSER, ("ja", None)),
        ({}, {"lang_prompt": "never"}, EN_BROWSER, ("ja", None)),
        ({}, {}, JA_BROWSER, ("ja", None)),
    ],
)
def test_language_and_prompt_signed_in(app, client, demo, account, cookies, headers, expected):
    sign_in(client)
    if account:
        set_account(app, **account)
    for name, value in cookies.items():
        client.set_cookie(name, value)
    assert page(client, "/", headers) == expected


# --- BROWSER_LANGUAGE ---------------------------------------------------------------------

@pytest.mark.parametrize("app_config", [{"BABEL_DEFAULT_LOCALE": "ja", "BROWSER_LANGUAGE": "follow"}])
@pytest.mark.parametrize(
    "headers, cookies, expected",
    [
        (EN_BROWSER, {}, ("en", None)),
        (JA_BROWSER, {}, ("ja", None)),
        ({"Accept-Language": "fr"}, {}, ("ja", None)),
        (EN_BROWSER, {"lang": "ja"}, ("ja", None)),
        (JA_BROWSER, {"lang": "en"}, ("en", None)),
    ],
)
def test_follow_lets_the_browser_pick_and_never_prompts(client, headers, cookies, expected):
    for name, value in cookies.items():
        client.set_cookie(name, value)
    assert page(client, headers=headers) == expected


@pytest.mark.parametrize("app_config", [{"BABEL_DEFAULT_LOCALE": "ja", "BROWSER_LANGUAGE": "follow"}])
def test_follow_signed_in_keeps_the_accounts_choice(app, client, demo):
    sign_in(client)
    assert page(client, "/", EN_BROWSER) == ("en", None)
    set_account(app, preferred_language="ja")
    assert page(client, "/", EN_BROWSER) == ("ja", None)


@pytest.mark.parametrize("value", ["Prompt", "FOLLOW", "ask", "browser", " prompt", "prompt ", "yes", "0"])
def test_an_unknown_browser_language_setting_stops_the_start(database_urls, value):
    with pytest.raises(ConfigurationError, match=r"BROWSER_LANGUAGE must be 'prompt' .* or 'follow' .*got "):
        create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_urls("sqlite"), "BROWSER_LANGUAGE": value})


@pytest.mark.parametrize("value, expected", [(None, "prompt"), ("", "prompt"), ("prompt", "prompt"), ("follow", "follow")])
def test_browser_language_from_the_environment(monkeypatch, database_urls, value, expected):
    if value is None:
        monkeypatch.delenv("BROWSER_LANGUAGE", raising=False)
    else:
        monkeypatch.setenv("BROWSER_LANGUAGE", value)
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_urls("sqlite")})
    assert app.config["BROWSER_LANGUAGE"] == expected


def test_a_misspelt_environment_setting_stops_the_start(monkeypatch, database_urls):
    monkeypatch.setenv("BROWSER_LANGUAGE", "folow")
    with pytest.raises(ConfigurationError, match="got 'folow'"):
        create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_urls("sqlite")})


# --- the three answers --------------------------------------------------------------------

def answer(client, reply: str, lang: str = "en", next_path: str = "/login", headers=EN_BROWSER):
    return client.post("/language/prompt", data={"answer": reply, "lang": lang, "next": next_path}, headers=headers)


def test_yes_switches_saves_the_choice_and_returns_to_the_same_page(client):
    response = answer(client, "yes", next_path="/login?x=1")
    assert response.status_code == 303 and response.location == "/login?x=1"
    cookie = set_cookie_header(response, "lang")
    assert cookie.startswith("lang=en;") and "Max-Age=34560000" in cookie and "HttpOnly" in cookie
    assert page(client) == ("en", None)
    assert page(client, headers=JA_BROWSER) == ("en", None)  # a choice, whatever the browser says later


def test_yes_signed_in_is_saved_on_the_account(app, client, demo):
    sign_in(client)
    answer(client, "yes", next_path="/")
    assert account_settings(app) == ("en", False)
    other_browser = app.test_client()
    sign_in(other_browser)
    assert page(other_browser, "/", JA_BROWSER) == ("en", None)


def test_no_is_a_browser_session_cookie(app, client):
    response = answer(client, "no")
    cookie = set_cookie_header(response, "lang_prompt")
    assert cookie.startswith("lang_prompt=no;") and "Max-Age" not in cookie and "Expires" not in cookie
    assert page(client) == ("ja", None)
    restarted = app.test_client()  # the session cookie is gone with the browser
    assert page(restarted) == ("ja", "en")


def test_no_holds_across_sign_in_and_sign_out(app, client, demo):
    answer(client, "no")
    sign_in(client)  # sign-in starts a new Flask session: the answer must not live there
    assert page(client, "/") == ("ja", None)
    client.post("/logout")
    assert page(client) == ("ja", None)
    assert account_settings(app) == (None, False)  # "No" is for this browser session only


def test_no_does_not_weaken_an_earlier_never(client):
    answer(client, "never")
    response = answer(client, "no")
    assert set_cookie_header(response, "lang_prompt") is None
    assert client.get_cookie("lang_prompt").value == "never"


def test_never_is_a_long_lived_cookie(app, client):
    response = answer(client, "never")
    cookie = set_cookie_header(response, "lang_prompt")
    assert cookie.startswith("lang_prompt=never;") and "Max-Age=34560000" in cookie and "HttpOnly" in cookie
    assert page(client) == ("ja", None)
    assert client.get_cookie("lang") is None  # not a choice of language


def test_never_signed_in_follows_the_account_to_any_browser(app, client, demo):
    sign_in(client)
    answer(client, "never", next_path="/")
    assert account_settings(app) == (None, True)
    other_browser = app.test_client()
    sign_in(other_browser)
    assert page(other_browser, "/") == ("ja", None)


def test_never_signed_out_reaches_the_account_at_the_next_sign_in(app, client, demo):
    answer(client, "never")
    assert account_settings(app) == (None, False)
    sign_in(client)
    assert account_settings(app) == (None, True)


@pytest.mark.parametrize("data", [
    {"answer": "maybe", "lang": "ja"}, {"answer": "yes", "lang": "de"}, {"answer": "yes"}, {},
    {"answer": "YES", "lang": "en"}, {"answer": "x" * 10_000, "lang": "en"}, {"answer": "no\r\nX: y"},
])
def test_the_prompt_refuses_anything_else(client, data):
    response = client.post("/language/prompt", data=data)
    assert response.status_code == 400
    assert not response.headers.getlist("Set-Cookie") or all(
        not h.startswith(("lang=", "lang_prompt=")) for h in response.headers.getlist("Set-Cookie"))


# --- the switcher -------------------------------------------------------------------------

def test_choosing_japanese_in_an_english_browser_never_brings_the_prompt_back(app, client):
    assert page(client) == ("ja", "en")
    client.post("/language/", data={"lang": "ja", "next": "/login"})
    for _ in range(3):
        assert page(client) == ("ja", None)
    restarted = app.test_client()
    restarted.set_cookie("lang", client.get_cookie("lang").value)  # the persistent cookie survives
    assert page(restarted) == ("ja", None)


def test_switcher_saves_the_choice_on_the_account(app, client, demo):
    sign_in(client)
    response = client.post("/language/", data={"lang": "en", "next": "/"})
    assert response.status_code == 303 and response.location == "/"
    assert account_settings(app) == ("en", False)
    html = client.get("/").get_data(as_text=True)
    assert lang_of(html) == "en" and "Net Assets" in html
    client.post("/language/", data={"lang": "ja", "next": "/"})
    html = client.get("/", headers=EN_BROWSER).get_data(as_text=True)
    assert lang_of(html) == "ja" and "総資産" in html and "Net Assets" not in html and prompt_of(html) is None


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
@pytest.mark.parametrize("form", [{"lang": "en"}, {"answer": "no", "lang": "en"}])
def test_return_address_accepts_only_same_site_paths(client, next_path, form):
    endpoint = "/language/prompt" if "answer" in form else "/language/"
    response = client.post(endpoint, data={**form, "next": next_path})
    assert response.status_code == 303
    assert response.location == "/"


# --- sign-in: the browser's choices meet the account's --------------------------------------

def test_a_choice_made_before_sign_in_holds_after_it_and_is_saved(app, client, demo):
    answer(client, "yes")  # on the sign-in page, in an English browser
    sign_in(client)
    assert account_settings(app) == ("en", False)
    assert page(client, "/") == ("en", None)
    client.post("/logout")
    assert page(client) == ("en", None)


def test_the_accounts_saved_language_wins_and_stays_in_the_browser(app, client, demo):
    set_account(app, preferred_language="en", never_prompt_language=True)
    client.set_cookie("lang", "ja")
    response = sign_in(client)
    assert set_cookie_header(response, "lang").startswith("lang=en;")
    assert set_cookie_header(response, "lang_prompt").startswith("lang_prompt=never;")
    assert account_settings(app) == ("en", True)
    client.post("/logout")
    assert page(client, headers=JA_BROWSER) == ("en", None)  # signing out changes nothing on screen


def test_a_choice_made_just_before_sign_in_replaces_the_accounts(app, client, demo):
    """An English browser answers "Yes", then signs in to an account that once saved Japanese:
    the choice made seconds ago wins, and is saved on the account."""
    set_account(app, preferred_language="ja")
    answer(client, "yes")
    response = sign_in(client)
    assert account_settings(app)[0] == "en"
    assert set_cookie_header(response, "lang") is None  # the browser's own choice stays
    assert set_cookie_header(response, "lang_chosen").startswith("lang_chosen=;")  # used once
    assert page(client, "/") == ("en", None)
    # The switcher too.
    client.post("/logout")
    client.post("/language/", data={"lang": "ja", "next": "/"})
    sign_in(client)
    assert account_settings(app)[0] == "ja" and page(client, "/")[0] == "ja"


def test_an_old_cookie_does_not_replace_the_accounts_language(app, client, demo):
    set_account(app, preferred_language="ja")
    client.set_cookie("lang", "en")  # left from an earlier visit: no choice made in this session
    response = sign_in(client)
    assert account_settings(app)[0] == "ja" and set_cookie_header(response, "lang").startswith("lang=ja;")


def test_sign_in_without_choices_writes_nothing(app, client, demo):
    response = sign_in(client)
    assert set_cookie_header(response, "lang") is None and set_cookie_header(response, "lang_prompt") is None
    assert account_settings(app) == (None, False)
    assert page(client, "/") == ("ja", "en")


def test_bad_cookies_at_sign_in_are_ignored(app, client, demo):
    client.set_cookie("lang", "x" * 3000)
    client.set_cookie("lang_prompt", "<never>")
    sign_in(client)
    assert account_settings(app) == (None, False)
    assert page(client, "/") == ("ja", "en")


# --- what else reads the language ---------------------------------------------------------

def test_the_browser_api_speaks_the_pages_language_not_the_headers(client, demo):
    sign_in(client)
    assert client.get("/api/balance", headers=EN_BROWSER).get_json()["locale"] == "ja"
    client.set_cookie("lang", "en")
    assert client.get("/api/balance", headers=JA_BROWSER).get_json()["locale"] == "en"


def test_programs_are_answered_in_their_headers_language(client):
    """A signed API request comes from a program: no switcher, no prompt, so its header decides."""
    english = client.get("/api/accounts/balance", headers={"Accept-Language": "en"}).get_json()
    japanese = client.get("/api/accounts/balance", headers={"Accept-Language": "ja"}).get_json()
    site = client.get("/api/accounts/balance").get_json()
    assert english["success"] is False and english["error"].isascii()
    assert not japanese["error"].isascii() and site == japanese


def test_numbers_and_times_follow_the_language(client, demo):
    sign_in(client)
    client.set_cookie("lang", "en")
    en = client.get("/").get_data(as_text=True)
    client.set_cookie("lang", "ja")
    ja = client.get("/").get_data(as_text=True)
    figure = re.compile(r'data-field="net_assets">([^<]+)<')
    assert figure.search(en).group(1) == figure.search(ja).group(1)
    assert " (Japan Standard Time)" in en and "（日本標準時）" in ja and "(日本標準時)" not in ja


def test_the_memoised_wallet_page_keeps_the_prompt_apart(app, client, demo):
    """Same account, figures and language: one browser is asked, the other said "never"."""
    sign_in(client)
    asked = page(client, "/")
    dismissed = app.test_client()
    sign_in(dismissed)
    dismissed.set_cookie("lang_prompt", "never")
    assert page(dismissed, "/") == ("ja", None)
    assert page(client, "/") == asked == ("ja", "en")
    assert page(dismissed, "/", JA_BROWSER) == ("ja", None)
    assert page(client, "/", JA_BROWSER) == ("ja", None)
