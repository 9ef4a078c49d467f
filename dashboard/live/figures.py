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
from flask_login import current_user
from werkzeug.test import EnvironBuilder

from dashboard.language.i18n import select_locale
from dashboard.read_path import signed_in
from dashboard.wallet.charts import allocation_slices
from dashboard.wallet.views import current_figures

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
    account_id: int | None = None   # set when signed in (status 200)
    locale: str | None = None
    event_id: str | None = None     # /api/balance's ETag, without its quotes
    event: str | None = None        # the event's data: {"balance": <the document>, "allocation": [...]}
    check_at: datetime | None = None  # when the session must be asked again: "last seen" due, or its end

    @property
    def signed_in(self) -> bool:
        return self.status == 200 and self.account_id is not None


def ask(app: Flask, headers: dict[str, str], address: str) -> Answer:
    """/api/balance as the stream's browser would be answered, in this thread."""
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
        document = body.rstrip(b"\n").decode()
        allocation = current_app.json.dumps(allocation_slices(current_figures()), separators=(",", ":"))
        return Answer(
            200, body, kept, account_id=current_user.id, locale=select_locale(),
            event_id=(response.get_etag()[0] or None), event='{"balance":' + document + ',"allocation":' + allocation + "}",
            check_at=_check_at(g.get("signed_in_row"), current_app.config),
        )


def _check_at(row, config) -> datetime | None:
    """When the session must be asked again: when its "last seen" is due to be written (as a
    refresh would write it: an open page keeps its session, as the refresh did), or when it ends."""
    if row is None:
        return None
    created_at, last_seen_at = row[-2], row[-1]
    at = signed_in.now()
    touch = signed_in.touch_interval(config)
    if at - last_seen_at >= touch:
        last_seen_at = at  # this very request wrote it
    return min(last_seen_at + touch + timedelta(seconds=1), signed_in.session_ends_at(created_at, last_seen_at, config))
