"""The templates' gettext finds the translations once per request and locale (i18n.request_translations),
and follows a locale forced for part of a request and given back."""
from __future__ import annotations

from flask import render_template_string
from flask_babel import force_locale


def test_template_strings_follow_the_locale_of_the_moment(app):
    with app.test_request_context("/", headers={"Cookie": "lang=ja"}):
        assert render_template_string("{{ _('Net Assets') }}") == "総資産"
        with force_locale("en"):
            assert render_template_string("{{ _('Net Assets') }}") == "Net Assets"
        assert render_template_string("{{ _('Net Assets') }}") == "総資産"


def test_each_request_finds_its_own(app):
    for cookie, words in (("lang=ja", "総資産"), ("lang=en", "Net Assets"), ("lang=ja", "総資産")):
        with app.test_request_context("/", headers={"Cookie": cookie}):
            assert render_template_string("{{ _('Net Assets') }} {{ _('Net Assets') }}") == f"{words} {words}"


def test_plural_and_formatted_strings_still_work(app):
    with app.test_request_context("/", headers={"Cookie": "lang=ja"}):
        text = render_template_string("{{ _('Recovery codes left: %(count)d', count=3) }}")
    assert "3" in text and text != "Recovery codes left: 3"
