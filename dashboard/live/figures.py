"""What a stream sends, made by the app's own /api/balance: the same code, so the same answer.

The stream process asks the Flask app as a browser's refresh would — the stream's own cookies
and language headers, GET /api/balance — in a request context of its own, without HTTP. So who
is signed in (read_path), which language, the switches and discreet mode are decided exactly as
for /api/balance, and the answer's ETag is the event's id. Asked with one session's headers, the
answer serves every stream of the same account in the same language (the document names the
account's figures and choices and its language, nothing of the session).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask, current_app, g
from flask_babel import force_locale
from flask_login import current_user
from werkzeug.test import EnvironBuilder

from dashboard.language.i18n import display_zone, select_locale
from dashboard.read_path import signed_in
from dashboard.read_path.signed_in import SignedInAccount
from dashboard.wallet.charts import allocation_slices
from dashboard.wallet.gains_fields import acquisition_costs
from dashboard.wallet.holdings import WalletPreferences, figures_of
from dashboard.wallet.page_memo import app_identity
from dashboard.wallet.views import balance_etag, balance_json, current_figures, figures_for

log = logging.getLogger(__name__)

BALANCE_PATH = "/api/balance"
# What of the browser's request may change /api/balance's answer: its session, its language.
FORWARDED_HEADERS = ("cookie", "accept-language", "user-agent")


@dataclass(frozen=True, slots=True)
class Answer:
    """/api/balance's answer for one stream's headers."""

    status: int
    body: bytes                     # the JSON document, or the refusal
    headers: tuple[tuple[str, str], ...]
    account: SignedInAccount | None = None  # the session's account, as this answer found it (status 200)
    locale: str | None = None
    event_id: str | None = None     # /api/balance's ETag, without its quotes
    event: str | None = None        # the event's data: {"balance": <the document>, "allocation": [...]}
    check_at: datetime | None = None  # when the session must be asked again: "last seen" due, or its end

    @property
    def signed_in(self) -> bool:
        return self.status == 200 and self.account is not None

    @property
    def account_id(self) -> int | None:
        return None if self.account is None else self.account.id


def ask(app: Flask, headers: dict[str, str], address: str) -> Answer:
    """/api/balance as the stream's browser would be answered, in this thread (outside any app
    context: a request pushes its own, with its own `g`)."""
    builder = EnvironBuilder(path=BALANCE_PATH, method="GET", headers=headers,
                             environ_base={"REMOTE_ADDR": address})
    try:
        environ = builder.get_environ()
    finally:
        builder.close()
    with app.request_context(environ):
        response = app.full_dispatch_request()
        body = response.get_data()
        kept = tuple((name, value) for name, value in response.headers.items()
                     if name.lower() not in ("content-type", "content-length", "etag", "vary"))
        if response.status_code != 200 or not current_user.is_authenticated:
            return Answer(response.status_code, body, kept)
        account = current_user._get_current_object()  # noqa: SLF001 (Werkzeug's documented unwrap)
        locale = select_locale()
        current_figures()  # made already, unless the answer was a remembered one (unchanged_refresh.py)
        document = body.rstrip(b"\n").decode()
        return Answer(
            200, body, kept, account=account, locale=locale, event_id=response.get_etag()[0] or None,
            event=_event_data(document, _allocation_json(g.wallet_rows, locale)),
            check_at=_check_at(g.get("signed_in_row"), current_app.config),
        )


def made(account: SignedInAccount, locale: str, rows, now: datetime) -> tuple[str, bytes]:
    """(id, encoded event) of the figures of an account whose session is known to be valid, from
    its wallet rows: what ask() would answer, by the same functions, without a request. In an app
    context. Kept with the figures, so streams of accounts with the same figures share it."""
    figures_made, _until = figures_for(account, rows, locale=locale, zone=display_zone(), now=now)
    preferences = WalletPreferences.of(account)

    def make() -> tuple[str, bytes]:
        event_id = balance_etag(figures_made, preferences)
        document = balance_json(figures_made, preferences).rstrip("\n")
        with force_locale(locale):
            return event_id, encode(event_id, _event_data(document, _allocation_json(rows, locale)))

    return figures_made.derived(("live_event", preferences, app_identity()), make)


def alike(account: SignedInAccount, locale: str, rows) -> tuple:
    """Everything made() makes an account's event from but its wallet rows and the moment: the
    language, the choices and the acquisition costs (these by the rows' journal numbers, which
    change with its balances). Accounts alike in it and in their rows get the same event. In an
    app context."""
    costs = acquisition_costs(account.id, rows.ledger, account.cost_method, display_zone())
    return locale, WalletPreferences.of(account), costs


def encode(event_id: str, data: str, retry_ms: int | None = None) -> bytes:
    """One Server-Sent Event named "figures" (its data is one line: compact JSON)."""
    retry = f"retry: {retry_ms}\r\n" if retry_ms else ""
    return f"id: {event_id}\r\nevent: figures\r\n{retry}data: {data}\r\n\r\n".encode()


def _event_data(document: str, allocation: str) -> str:
    return '{"balance":' + document + ',"allocation":' + allocation + "}"


def _allocation_json(rows, locale: str) -> str:
    # Made from the balances and rates alone: kept with the base figures, which every account with
    # the same rows shares, not with this account's gains.
    base = figures_of(rows, locale=locale, zone=display_zone(), max_age=current_app.config["RATE_MAX_AGE"])
    return base.derived(("allocation_json", app_identity()), lambda: current_app.json.dumps(
        allocation_slices(base, locale), separators=(",", ":")))


def _check_at(row, config) -> datetime:
    """When the session must be asked again: when its "last seen" is due to be written (as a
    refresh would write it: an open page keeps its session, as the refresh did), or when it ends."""
    if row is None:
        # A remembered answer (wallet/unchanged_refresh.py) read no session row: asked again once
        # "last seen" would be due, when the full path answers and says when the session ends.
        # Without it such a stream was never asked by time, and outlived its session's end.
        return signed_in.now() + signed_in.touch_interval(config)
    created_at, last_seen_at = row[-2], row[-1]
    at = signed_in.now()
    touch = signed_in.touch_interval(config)
    if at - last_seen_at >= touch:
        last_seen_at = at  # this very request wrote it
    return min(last_seen_at + touch + timedelta(seconds=1), signed_in.session_ends_at(created_at, last_seen_at, config))
