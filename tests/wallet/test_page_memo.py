"""The wallet page is rendered once per set of inputs: what it serves must be exactly what a fresh
render gives, with each browser's own CSRF token, and a template that reads an input the memo's
key does not name must fail rather than show one visitor another's page."""
from __future__ import annotations

import re

import pytest
from conftest import csrf_token_in, sign_in_with_csrf
from flask import render_template
from jinja2 import ChoiceLoader, DictLoader

from dashboard.language.i18n import prompt_language, select_locale
from dashboard.wallet import page_memo
from dashboard.wallet.views import current_figures, render_wallet_page, wallet_view


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


def memo_render(template="wallet/index.html"):
    from flask_login import current_user

    return render_wallet_page(
        template, current_figures(), locale=select_locale(), prompt=prompt_language(),
        show_in_header=current_user.show_net_assets_in_header, hide_zero_balances=current_user.hide_zero_balances,
        view=wallet_view(),
    )


@pytest.mark.parametrize("accept_language", ["en", "ja", "ja-JP,ja;q=0.9"])
def test_the_memoised_page_is_the_fresh_page(app, client, demo, accept_language):
    sign_in_with_csrf(client)
    cookie = client.get_cookie("session").value
    headers = {"Cookie": f"session={cookie}", "Accept-Language": accept_language}
    with app.test_request_context("/", headers=headers):
        app.preprocess_request()
        fresh = render_template("wallet/index.html")
        first, again = memo_render(), memo_render()
    assert first == fresh and again == fresh
    assert page_memo.CSRF_HOLE not in fresh


def test_each_browser_gets_its_own_working_token(app, demo):
    browsers = [app.test_client(), app.test_client()]
    tokens = []
    for browser in browsers:
        sign_in_with_csrf(browser)
        tokens.append(csrf_token_in(browser.get("/").get_data(as_text=True)))  # the second is a memo hit
    assert tokens[0] != tokens[1]
    for browser, token in zip(browsers, tokens, strict=True):
        page = browser.get("/").get_data(as_text=True)
        assert page.count(csrf_token_in(page)) == 8  # meta, four switch forms, the list's view form, sign-out, language
        answer = browser.post("/preferences/header", data={"csrf_token": token, "show_in_header": "n", "next": "/"})
        assert answer.status_code == 302
    # Each browser's token is bound to its own session: swapped, they are refused.
    assert browsers[0].post("/preferences/header", data={"csrf_token": tokens[1], "show_in_header": "n"}).status_code == 400


def test_the_page_follows_the_switches_and_the_language(app, client, demo):
    token = sign_in_with_csrf(client)
    header_on = re.compile(r'id="show-in-header" name="show_in_header" value="y" checked')
    zero_hidden = re.compile(r'<tr data-currency="[a-z]+" class="[^"]*" data-zero hidden>')
    page = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert header_on.search(page) and not zero_hidden.search(page)
    client.post("/preferences/header", data={"csrf_token": token, "show_in_header": "n", "next": "/"})
    client.post("/preferences/zero-balances", data={"csrf_token": token, "hide_zero_balances": ["n", "y"], "next": "/"})
    client.get("/")  # shows the flashed confirmations, rendered afresh
    page = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert not header_on.search(page) and 'id="show-in-header"' in page
    assert zero_hidden.search(page)
    client.post("/language/", data={"csrf_token": csrf_token_in(page), "lang": "ja", "next": "/"})
    page = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="ja">' in page and "Show in English?" not in page  # a choice ends the prompt


def test_a_flashed_message_is_shown_once(app, client, demo):
    sign_in_with_csrf(client)
    client.get("/")
    with client.session_transaction() as session:
        session["_flashes"] = [("message", "<b>Saved</b>")]
    page = client.get("/").get_data(as_text=True)
    assert "&lt;b&gt;Saved&lt;/b&gt;" in page
    assert "&lt;b&gt;Saved" not in client.get("/").get_data(as_text=True)


def test_a_query_string_is_rendered_afresh_and_escaped(app, client, demo):
    sign_in_with_csrf(client)
    page = client.get('/?x="><script>alert(1)</script>').get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert client.get("/").get_data(as_text=True).count('name="next" value="/"') >= 2


@pytest.mark.parametrize("source", ["{{ current_user.email }}", "{{ session['x'] }}", "{% if g %}x{% endif %}", "{{ current_user }}"])
def test_a_template_that_reads_an_unkeyed_input_fails(app, client, demo, source):
    sign_in_with_csrf(client)
    cookie = client.get_cookie("session").value
    app.jinja_loader  # noqa: B018 - the app's own loader, created on first use
    app.jinja_env.loader = ChoiceLoader([DictLoader({"probe.html": source}), app.jinja_env.loader])
    with app.test_request_context("/", headers={"Cookie": f"session={cookie}"}):
        app.preprocess_request()
        with pytest.raises(page_memo.UnkeyedInput):
            memo_render("probe.html")


def test_a_browser_gets_its_signed_token_again_within_the_minute_and_it_works(app, demo):
    browser = app.test_client()
    sign_in_with_csrf(browser)
    first = csrf_token_in(browser.get("/").get_data(as_text=True))
    again = csrf_token_in(browser.get("/").get_data(as_text=True))
    assert again == first  # not signed afresh
    answer = browser.post("/preferences/header", data={"csrf_token": again, "show_in_header": "n", "next": "/"})
    assert answer.status_code == 302
    # A new sign-in is a new session with a new secret: the old token is not handed out again.
    browser.post("/logout", data={"csrf_token": again})
    sign_in_with_csrf(browser)
    assert csrf_token_in(browser.get("/").get_data(as_text=True)) != first


def test_tokens_are_signed_afresh_when_they_expire_quickly(app, demo):
    app.config["WTF_CSRF_TIME_LIMIT"] = 5 * page_memo.CSRF_REUSE_SECONDS  # too short to hand one out again
    browser = app.test_client()
    sign_in_with_csrf(browser)
    page = browser.get("/").get_data(as_text=True)
    assert browser.post("/preferences/header", data={"csrf_token": csrf_token_in(page), "show_in_header": "n"}).status_code == 302
    assert "dashboard_csrf_tokens" not in app.extensions  # nothing kept to hand out again
