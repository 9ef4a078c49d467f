"""The wallet page is rendered once per shape and new figures only fill it: what it serves must be,
byte for byte, what rendering afresh gives, in every state the page has, after the figures
moved too; and a template that uses a figure as more than text must fail, not draw one set of
figures' page for another."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from conftest import sign_in_with_csrf
from flask import render_template
from flask_login import current_user
from markupsafe import Markup
from tests_support import drop_read_cache

from dashboard.extensions import db
from dashboard.language.i18n import prompt_language, select_locale
from dashboard.ledger.rate_updates import store_rate
from dashboard.models import Account, Balance, Rate
from dashboard.wallet import page_memo, page_shapes
from dashboard.wallet.charts import chart_key
from dashboard.wallet.page_shapes import Hole, Shape, Shapes, UnshapedUse, shape_of, take_out_figures
from dashboard.wallet.views import current_figures, render_wallet_page, wallet_view


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


@pytest.fixture
def shapes(monkeypatch):
    """A shape memo of the test's own, to count what was rendered."""
    kept = Shapes(size=64)
    monkeypatch.setattr(page_memo, "_SHAPES", kept)
    return kept


def fresh_and_served(app, client, accept_language="en") -> tuple[str, str]:
    """The wallet page rendered afresh, and as the memo serves it, in one request."""
    cookie = client.get_cookie("session").value
    with app.test_request_context("/", headers={"Cookie": f"session={cookie}", "Accept-Language": accept_language}):
        app.preprocess_request()
        fresh = render_template("wallet/index.html")
        served = render_wallet_page(
            "wallet/index.html", current_figures(), locale=select_locale(), prompt=prompt_language(),
            show_in_header=current_user.show_net_assets_in_header, hide_zero_balances=current_user.hide_zero_balances,
            discreet=current_user.discreet, view=wallet_view(), charts=chart_key(),
        )
    return fresh, served


def without_tokens(html: str) -> str:
    """The page without its CSRF tokens: the memo hands a browser's signed token out again for
    a minute (page_memo.csrf_token), where rendering afresh signs a new one."""
    return re.sub(r'(name="csrf_token" value|name="csrf-token" content)="[^"]*"', r"\1", html)


def move_rates(app, step: Decimal) -> None:
    """A tick: every crypto-asset's rate moved, as `rates refresh` writes it, but those whose
    source went quiet (out of date stays out of date)."""
    with app.app_context():
        now = datetime.now(UTC)
        for rate in db.session.query(Rate).filter(Rate.currency_code != "jpy", Rate.as_of > now - timedelta(minutes=5)).all():
            store_rate(rate.currency_code, (rate.jpy_rate * step).quantize(Decimal("0.000001")), as_of=now, source="test")
        db.session.commit()
    drop_read_cache(app)


def set_account(app, **columns) -> None:
    with app.app_context():
        account = db.session.query(Account).filter_by(email="demo@example.com").one()
        for name, value in columns.items():
            setattr(account, name, value)
        db.session.commit()
    drop_read_cache(app)


def without_rate(app, code: str) -> None:
    with app.app_context():
        db.session.delete(db.session.get(Rate, code))
        db.session.commit()
    drop_read_cache(app)


def stale(app, code: str) -> None:
    with app.app_context():
        db.session.get(Rate, code).as_of = datetime.now(UTC) - timedelta(minutes=16)
        db.session.commit()
    drop_read_cache(app)


def everything_zero(app) -> None:
    with app.app_context():
        for balance in db.session.query(Balance).all():
            balance.available = balance.in_use = Decimal(0)
        db.session.commit()
    drop_read_cache(app)


def billions(app) -> None:
    """Net assets long enough for the smaller type ("long")."""
    with app.app_context():
        db.session.query(Balance).filter_by(currency_code="btc").update({"available": Decimal("90000")})
        db.session.commit()
    drop_read_cache(app)


STATES = {
    "as seeded": lambda app: None,
    "amounts hidden": lambda app: set_account(app, discreet=True),
    "zero balances hidden": lambda app: set_account(app, hide_zero_balances=True),
    "not in the header": lambda app: set_account(app, show_net_assets_in_header=False),
    "a rate missing": lambda app: without_rate(app, "btc"),
    "a rate out of date": lambda app: stale(app, "xem"),
    "every balance zero, hidden": lambda app: (everything_zero(app), set_account(app, hide_zero_balances=True)),
    "net assets in the billions": billions,
    "ordered by name": lambda app: set_account(app, balance_order="name"),
    "small balances hidden": lambda app: set_account(app, hide_small_balances=True),
    "small balances hidden, threshold zero": lambda app: set_account(app, hide_small_balances=True, small_balance_jpy=0),
    "every balance small, hidden": lambda app: set_account(app, hide_small_balances=True, small_balance_jpy=1_000_000_000),
    "small and zero balances hidden, by name": lambda app: set_account(
        app, hide_small_balances=True, hide_zero_balances=True, balance_order="name", small_balance_jpy=50_000),
}


@pytest.mark.parametrize("accept_language", ["en", "ja"])
@pytest.mark.parametrize("state", list(STATES))
def test_the_filled_shape_is_the_fresh_page_before_and_after_a_tick(app, client, demo, shapes, state, accept_language):
    sign_in_with_csrf(client)
    STATES[state](app)
    fresh, served = fresh_and_served(app, client, accept_language)
    assert without_tokens(served) == without_tokens(fresh)
    drawn = len(shapes._kept)
    move_rates(app, Decimal("1.0003"))
    fresh_after, served_after = fresh_and_served(app, client, accept_language)
    assert without_tokens(served_after) == without_tokens(fresh_after)
    assert without_tokens(fresh_after) != without_tokens(fresh)  # the figures did move ...
    assert len(shapes._kept) == drawn  # ... and the page was filled, not drawn again


def test_wallets_of_the_same_shape_share_it_and_each_shows_its_own(app, client, demo, shapes):
    sign_in_with_csrf(client)
    fresh, served = fresh_and_served(app, client)
    with app.app_context():
        balance = db.session.query(Balance).filter_by(currency_code="btc").one()
        # A little more: no currency changes place in the order (a new order is a new shape).
        balance.available += Decimal("0.0001")
        db.session.commit()
    drop_read_cache(app)
    fresh_other, served_other = fresh_and_served(app, client)
    fresh, served, fresh_other, served_other = map(without_tokens, (fresh, served, fresh_other, served_other))
    assert (served, served_other) == (fresh, fresh_other) and fresh != fresh_other
    assert len(shapes._kept) == 1


def test_a_new_shape_is_drawn_when_a_notice_appears(app, client, demo, shapes):
    sign_in_with_csrf(client)
    fresh_and_served(app, client)
    without_rate(app, "btc")
    fresh, served = fresh_and_served(app, client)
    assert without_tokens(served) == without_tokens(fresh) and len(shapes._kept) == 2


def render(app, source: str, **values) -> str:
    # from_string autoescapes, as the app's .html templates do.
    with app.test_request_context("/"):
        return app.jinja_env.from_string(source).render(**values)


@pytest.mark.parametrize("source", [
    "{% if x == 'BTC' %}y{% endif %}",
    "{{ x | length }}",
    "{{ x | upper }}",
    "{{ x ~ '!' }}",
    "{{ x.attribute }}",
    "{{ x[0] }}",
    "{{ '%s' | format(x) }}",
    "{% for c in x %}{{ c }}{% endfor %}",
    "{{ x > 16 }}",
    "{{ x | tojson }}",
    "{% set t %}{{ x }}{% endset %}{{ t | upper }}",
])
def test_a_figure_used_as_more_than_text_is_refused(app, source):
    with pytest.raises((UnshapedUse, TypeError)):
        Shape.of(render(app, source, x=Hole(0)))


def test_a_figure_written_out_is_escaped_as_jinja_escapes_it(app):
    shape = Shape.of(render(app, '<p title="{{ x }}">{{ x }} and {{ y }}</p>', x=Hole(0), y=Hole(1)))
    figures = ('<script>"&\'', Markup("<b>kept</b>"))
    assert shape.filled(figures) == render(app, '<p title="{{ x }}">{{ x }} and {{ y }}</p>', x=figures[0], y=figures[1])


def test_the_shape_names_everything_but_the_figures():
    document = {"rows": [{"code": "btc", "amount": "1.5", "rate": None, "zero": False}], "widest": 12}
    moved = {"rows": [{"code": "btc", "amount": "1.6", "rate": None, "zero": False}], "widest": 12}
    kept = frozenset({"code", "widest"})
    assert shape_of(document, kept)[0] == shape_of(moved, kept)[0]
    assert shape_of(moved, kept)[1] == ("1.6",)
    for changed in (
        {"rows": [{"code": "eth", "amount": "1.5", "rate": None, "zero": False}], "widest": 12},  # a kept value
        {"rows": [{"code": "btc", "amount": "1.5", "rate": "3", "zero": False}], "widest": 12},   # None or not
        {"rows": [{"code": "btc", "amount": "1.5", "rate": None, "zero": True}], "widest": 12},   # a switch
        {"rows": [], "widest": 12},                                                               # a length
        {"rows": [{"code": "btc", "amount": "", "rate": None, "zero": False}], "widest": 12},    # empty text
    ):
        assert shape_of(changed, kept)[0] != shape_of(document, kept)[0], changed
    # Equal, yet written differently: falsy values are kept as written.
    assert shape_of({"x": Decimal("0")}, kept)[0] != shape_of({"x": Decimal("0.00")}, kept)[0]


def test_holes_are_numbered_as_the_figures_are_listed():
    value = {"a": "x", "b": [None, "y", {"c": Decimal("2")}], "d": 0, "e": ("z",)}
    holed, (_shape, figures) = take_out_figures(value, frozenset()), shape_of(value, frozenset())
    assert figures == ("x", "y", Decimal("2"), "z")
    markers = [holed["a"], holed["b"][1], holed["b"][2]["c"], holed["e"][0]]
    assert [Shape.of(m.__html__()).rest[0][0] for m in markers] == [0, 1, 2, 3]
    assert holed["b"][0] is None and holed["d"] == 0 and isinstance(holed["e"], tuple)


def test_a_value_that_is_not_text_is_refused():
    with pytest.raises(TypeError, match="datetime"):
        shape_of({"when": datetime.now(UTC)}, frozenset())


def test_no_marker_survives_filling(app, client, demo, shapes):
    sign_in_with_csrf(client)
    _fresh, served = fresh_and_served(app, client)
    assert page_shapes._MARKER not in served and page_shapes._TOKEN not in served
