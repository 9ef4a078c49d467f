"""The operator's brand from settings: name, logo (also the favicon), registration, support and
terms links in every page's footer in both languages; a bad setting stops the start."""
from __future__ import annotations

import pytest
from conftest import sign_in

from dashboard import create_app
from dashboard.config import ConfigurationError


@pytest.mark.parametrize("lang, label", [("en", "Crypto-asset exchange service provider registration:"),
                                         ("ja", "暗号資産交換業者登録番号：")])
@pytest.mark.parametrize("path", ["/login", "/", "/activity", "/security", "/api-keys"])
def test_the_footer_is_on_every_page_in_both_languages(client, demo, lang, label, path):
    if path != "/login":  # the sign-in page is seen signed out
        sign_in(client)
    client.set_cookie("lang", lang)
    html = client.get(path).get_data(as_text=True)
    footer = html.split('<footer class="site-footer">')[1].split("</footer>")[0]
    assert "Demo Exchange" in footer and label in footer and "関東財務局長 第00000号" in footer
    assert 'href="https://support.example.com/"' in footer and 'href="https://example.com/terms"' in footer
    assert '<link rel="icon" href="/brand/logo">' in html


def test_the_operators_settings_are_shown_and_the_logo_served(database_urls, tmp_path):
    from conftest import make_app

    logo = tmp_path / "logo.png"
    logo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32)
    app = make_app(database_urls("sqlite"), OPERATOR_NAME="Example Coin K.K.", OPERATOR_LOGO=str(logo),
                   OPERATOR_REGISTRATION="関東財務局長 第00099号", SUPPORT_URL="https://help.example.jp/",
                   TERMS_URL="https://example.jp/terms?lang=en")
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    assert "Example Coin K.K." in html and "第00099号" in html and 'href="https://example.jp/terms?lang=en"' in html
    response = client.get("/brand/logo")
    assert response.status_code == 200 and response.mimetype == "image/png" and response.data == logo.read_bytes()


@pytest.mark.parametrize("setting, value, message", [
    ("SUPPORT_URL", "javascript:alert(1)", "SUPPORT_URL must be an absolute http"),
    ("SUPPORT_URL", "support.example.com", "SUPPORT_URL must be an absolute http"),
    ("TERMS_URL", "https://", "TERMS_URL must be an absolute http"),
    ("TERMS_URL", "https://example.com/a b", "TERMS_URL must be an http:// or https:// address without spaces"),
    ("TERMS_URL", "", "TERMS_URL must be"),
    ("OPERATOR_NAME", "  ", "OPERATOR_NAME must be a text"),
    ("OPERATOR_REGISTRATION", "x" * 201, "OPERATOR_REGISTRATION must be a text"),
    ("OPERATOR_LOGO", "/nonexistent/logo.svg", "OPERATOR_LOGO names no readable file"),
    ("OPERATOR_LOGO", "/etc/passwd", "OPERATOR_LOGO must be an .svg, .png or .ico file"),
])
def test_a_bad_operator_setting_stops_the_start(database_urls, setting, value, message):
    from conftest import make_app

    with pytest.raises(ConfigurationError, match=message.replace("(", r"\(").replace("?", r"\?")):
        make_app(database_urls("sqlite"), **{setting: value})


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("TERMS_URL", "ftp://example.com/terms")
    monkeypatch.setenv("DASHBOARD_ENV", "development")
    with pytest.raises(ConfigurationError, match="TERMS_URL"):
        create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
