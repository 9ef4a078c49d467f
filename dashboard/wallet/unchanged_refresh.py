"""The wallet's answers when nothing changed, given before the account is even loaded.

Every open wallet page asks `/api/balance` again every REFRESH_SECONDS with the ETag it last
received, and reloads of the page itself are the next most common request; at an exchange's
size most of them find nothing changed. The full answer (wallet/api.py, wallet/views.py) costs
the account's sign-in, its language and its figures, each from the read cache; this one costs a
dictionary lookup and two identity checks.

A full answer remembers what it was made from: the sign-in session's row and the wallet's rows,
the very objects the read cache holds, and the request's language inputs. A later GET of the
same address by the same session with the same language inputs is answered here — for
`/api/balance`, 304 when it names that ETag and the same body when it names none; for the page,
the same memoised page with this browser's CSRF token (page_memo.py) — while

- the read cache still holds those very objects: any change to the account, its sessions, its
  balances, a rate or a currency evicts them (read_cache.py), in this process or another;
- and no change driven by the clock alone is due: "last seen" to write again, the session's
  idle or absolute end, a rate turning stale, the history chart's next period.

Anything else (no entry, another ETag, a weak or listed If-None-Match, a query string or a
flashed message on the page) takes the full path, which decides exactly as before. With the
read cache off nothing is ever remembered.

The 304 itself, the answer to nearly every refresh, is given earlier still, by a WSGI
middleware in front of Flask (NotModifiedBeforeFlask): a 304 needs no session to open or save,
no hook and no response object, and those were most of its cost. It makes the same decision
from the same inputs (the session's contents are the ones its cookie was verified to hold,
session_cookie.py) and sends the headers Flask's 304 carries; whatever it cannot decide, Flask
decides.
"""
from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime

from cachetools import LRUCache
from flask import Flask, current_app, g, request, session
from werkzeug.http import parse_cookie

from dashboard import security
from dashboard.language.i18n import LANGUAGE_COOKIE, PROMPT_COOKIE
from dashboard.metrics import ROUTE_KEY
from dashboard.models import LoginSession
from dashboard.read_path import read_cache, replicas, session_cookie, signed_in
from dashboard.wallet.holdings import WalletFigures, figures_unchanged_until
from dashboard.wallet.page_memo import with_csrf_token

EXTENSION = "dashboard_unchanged_refresh"
# Where Flask-Login keeps the user's id in the session: here, the sign-in session's token.
SESSION_USER_KEY = "_user_id"
BALANCE, PAGE = "api.balance", "wallet.index"
FAR_FUTURE = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Answered:
    """What one full answer was made from."""

    if_none_match: str | None  # /api/balance: the header naming its ETag, exactly as the page sends it
    # The body (/api/balance's JSON, the page's shell) where the figures keep it, held weakly:
    # remembering an answer keeps no body alive longer than the figures' own memo does.
    figures: weakref.ref
    body_key: tuple
    token_hash: str
    session_row: object  # the read cache's objects, compared by identity
    account_id: int
    wallet_rows: object
    valid_until: datetime


class UnchangedRefreshes:
    def __init__(self, max_entries: int):
        self._answered: LRUCache = LRUCache(maxsize=max(1, max_entries))
        self._lock = threading.Lock()

    def remember(self, key: tuple, answered: Answered) -> None:
        with self._lock:
            self._answered[key] = answered

    def recall(self, key: tuple) -> Answered | None:
        with self._lock:
            return self._answered.get(key)


def _key(endpoint: str, token: str, environ: dict, cookies) -> tuple:
    # Everything besides the account that the language of the answer, hence its ETag, depends on
    # (the account's own language choice is in its session row).
    # Read from the WSGI environment as sent: building request.host_url cost a fifth of this path.
    return (endpoint, token, environ.get("HTTP_ACCEPT_LANGUAGE"), cookies.get(LANGUAGE_COOKIE), cookies.get(PROMPT_COOKIE),
            environ.get("wsgi.url_scheme"), environ.get("HTTP_HOST"), environ.get("SCRIPT_NAME"))


def remember_answer(etag: str, figures: WalletFigures, body_key: tuple) -> None:
    """Called by /api/balance once it has made its body (kept by figures under body_key) and ETag."""
    _remember(BALANCE, f'"{etag}"', figures, body_key, FAR_FUTURE)


def remember_page(figures: WalletFigures, page_key: tuple, *, changes_at: datetime) -> None:
    """Called by the page once figures keep its shell under page_key; changes_at: when its charts move on."""
    _remember(PAGE, None, figures, page_key, changes_at)


def _remember(endpoint: str, if_none_match: str | None, figures: WalletFigures, body_key: tuple,
              changes_at: datetime) -> None:
    refreshes = current_app.extensions.get(EXTENSION)
    token = session.get(SESSION_USER_KEY)
    session_row, rows = g.get("signed_in_row"), g.get("wallet_rows")
    if refreshes is None or not token or session_row is None or rows is None:
        return
    *account, created_at, last_seen_at = session_row
    config = current_app.config
    now = signed_in.now()
    valid_until = min(
        last_seen_at + signed_in.touch_interval(config),
        signed_in.session_ends_at(created_at, last_seen_at, config),
        figures_unchanged_until(rows, now=now, max_age=config["RATE_MAX_AGE"]),
        changes_at,
        g.get("gains_unchanged_until", FAR_FUTURE),  # the rates of 24 hours ago move on (gains_fields.py)
    )
    if valid_until > now:
        answered = Answered(if_none_match, weakref.ref(figures), body_key, LoginSession.hash_token(token),
                            session_row, account[0], rows, valid_until)
        refreshes.remember(_key(endpoint, token, request.environ, request.cookies), answered)


def _recall(app: Flask, endpoint: str, token: str, environ: dict, cookies, if_none_match: str | None,
            contents) -> Answered | None:
    """The remembered answer for this request, if it still holds (and, with replicas, is as new
    as the browser's last write, in its session's contents); None sends it down the full path."""
    answered = app.extensions[EXTENSION].recall(_key(endpoint, token, environ, cookies))
    # Only the two forms the page sends: the ETag exactly, or none (any other form: full path).
    if (answered is None or if_none_match not in (None, answered.if_none_match) or signed_in.now() >= answered.valid_until
            or not read_cache.of(app).still_holds(answered.token_hash, answered.session_row, answered.account_id,
                                                  answered.wallet_rows, replicas.position_of(contents))):
        return None
    return answered


def answer_if_unchanged():
    """The app's first before-request hook: the remembered answer, or None for the full path."""
    endpoint = request.endpoint
    if endpoint not in (BALANCE, PAGE) or request.method != "GET":
        return None
    app = current_app._get_current_object()  # noqa: SLF001 (Werkzeug's documented unwrap)
    token = session.get(SESSION_USER_KEY) if EXTENSION in app.extensions else None
    if not token or (endpoint == PAGE and (request.query_string or "_flashes" in session)):
        return None
    if_none_match = request.headers.get("If-None-Match") if endpoint == BALANCE else None
    answered = _recall(app, endpoint, token, request.environ, request.cookies, if_none_match, session)
    if answered is None:
        return None
    if if_none_match:
        return not_modified(answered.if_none_match)
    figures = answered.figures()
    body = None if figures is None else figures.kept(answered.body_key)
    if body is None:  # the figures' memo let it go: made again by the full path
        return None
    return app.response_class(with_csrf_token(body)) if endpoint == PAGE else full_answer(body, answered.if_none_match)


def not_modified(quoted_etag: str):
    return current_app.response_class(status=304, headers={"ETag": quoted_etag})


def full_answer(body: str, quoted_etag: str):
    return current_app.response_class(body, mimetype="application/json", headers={"ETag": quoted_etag})


class NotModifiedBeforeFlask:
    """WSGI middleware: the 304 of an unchanged refresh, given before Flask makes a request.

    It answers only what answer_if_unchanged would answer 304, decided by the same _recall from
    the same inputs: a GET of /api/balance with no query string, naming the remembered ETag
    exactly, from a session cookie that session_cookie.py has verified before (its contents,
    still within their age). Its headers are those Flask's 304 carries: the ETag, the security
    headers (security.response_headers), Cache-Control and Vary. Anything else, including a
    session Flask would send a cookie for (permanent, or Flask-Login's remember flag) and any
    error here, goes on to Flask, which decides as before. Installed innermost, under ProxyFix,
    so the address and scheme it keys on are the ones Flask sees."""

    STATUS = "304 NOT MODIFIED"  # as Werkzeug writes it

    def __init__(self, app: Flask, wsgi_app):
        self._app = app
        self._wsgi_app = wsgi_app
        self._path = None      # /api/balance's path and the 304's fixed headers: made on first use,
        self._headers = None   # once the app is configured and its blueprints are registered

    def __call__(self, environ, start_response):
        try:
            etag = self._unchanged(environ)
        except Exception:  # noqa: BLE001 (Flask decides, with its own error handling, and logs it)
            etag = None
        if etag is None:
            return self._wsgi_app(environ, start_response)
        environ[ROUTE_KEY] = self._path  # for the request log (the rule has no variables)
        start_response(self.STATUS, [("ETag", etag), *self._headers])
        return []

    def _unchanged(self, environ) -> str | None:
        """The quoted ETag to answer 304 with, or None."""
        app = self._app
        if_none_match = environ.get("HTTP_IF_NONE_MATCH")
        if (not if_none_match or environ.get("REQUEST_METHOD") != "GET" or environ.get("QUERY_STRING")
                or EXTENSION not in app.extensions or app.config.get("REMEMBER_COOKIE_REFRESH_EACH_REQUEST")):
            return None
        if self._path is None:
            self._path = app.url_map.bind("localhost").build(BALANCE)
            # The 304 Flask sends: after_request's security headers, then the session's Vary.
            self._headers = (*security.response_headers(app.config), security.NOT_STORED, session_cookie.VARY_ON_COOKIE)
        if environ.get("PATH_INFO") != self._path:
            return None
        cookies = parse_cookie(environ.get("HTTP_COOKIE"))
        contents = app.session_interface.remembered(app, cookies.get(app.config["SESSION_COOKIE_NAME"]))
        if not contents or contents.get("_permanent") or "_remember" in contents or not contents.get(SESSION_USER_KEY):
            return None
        answered = _recall(app, BALANCE, contents[SESSION_USER_KEY], environ, cookies, if_none_match, contents)
        return None if answered is None else answered.if_none_match


def init_app(app: Flask) -> None:
    if app.config["READ_CACHE_SECONDS"] > 0:
        # As many as the wallets the read cache keeps: an entry holds the cache's own rows.
        app.extensions[EXTENSION] = UnchangedRefreshes(app.config["READ_CACHE_WALLETS"])
        # Ahead of every other hook (Flask-WTF's CSRF check included, which a GET passes anyway):
        # an answer given here needs nothing they do.
        app.before_request_funcs.setdefault(None, []).insert(0, answer_if_unchanged)
