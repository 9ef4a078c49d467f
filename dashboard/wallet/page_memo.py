"""The wallet page, made once per distinct set of inputs and completed per request.

Rendering the page's templates was most of a page request, yet the HTML is the same for every
request with the same figures, language, address, language prompt, switches (header, zero
balances, discreet) and charts (whose key names their range and latest period boundary); only the
CSRF token differs from browser to browser. So the page is made once with a placeholder for the
token, kept with its figures (holdings.WalletFigures), and each request puts its own token in.
New figures (every rate tick) fill the page's shape, rendered once per shape (page_shapes.py).
The key names every input; the templates are rendered against stand-ins for the per-request
objects they must not read (session, g, current_user), which fail loudly, so a template change
that reads something the key does not name breaks a test instead of showing one visitor
another's page.
"""
from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from types import SimpleNamespace

from cachetools import TTLCache
from flask import current_app, render_template, request, session
from flask_wtf.csrf import generate_csrf

from dashboard.wallet.holdings import WalletFigures
from dashboard.wallet.page_shapes import Shapes

# Random per process, so no text a visitor can put on the page is ever taken for it.
CSRF_HOLE = "csrf-hole-" + secrets.token_hex(16)
# How long one browser's signed CSRF token is handed out again (see csrf_token).
CSRF_REUSE_SECONDS = 60


class UnkeyedInput(RuntimeError):
    """A memoised page read something its key does not name."""


class _Unkeyed:
    def __init__(self, name: str):
        object.__setattr__(self, "_name", name)

    def _refuse(self, what: str):
        raise UnkeyedInput(f"the memoised wallet page read {self._name}{what}: name it in page_memo's key")

    def __getattr__(self, attribute):
        self._refuse("." + attribute)

    def __getitem__(self, key):
        self._refuse(f"[{key!r}]")

    def __bool__(self):
        self._refuse(" as a condition")

    def __iter__(self):
        self._refuse(" as a sequence")

    def __str__(self):
        self._refuse(" as text")


def app_identity() -> object:
    """A key part naming this app: an object of its own rather than id(app), which a later app
    could reuse once this one is gone (tests make hundreds) while memoised keys still hold it."""
    return current_app.extensions.setdefault("dashboard_memo_identity", object())


def page_key(
    template: str, *, locale: str, prompt: str | None, show_in_header: bool,
    hide_zero_balances: bool, discreet: bool = False, view: tuple = (), charts: tuple = (),
) -> tuple | None:
    """Everything the page is made from besides its figures, or None when it must be rendered afresh."""
    # A query string (any number of variants) or a flashed message (once only): render afresh.
    if request.query_string or session.get("_flashes"):
        return None
    return (
        "page", template, app_identity(), request.script_root, request.path, request.endpoint,
        locale, prompt, show_in_header, hide_zero_balances, discreet, view, current_app.config["REFRESH_SECONDS"], charts,
    )


def _shape_scope(key: tuple) -> tuple:
    """What, besides its figures, a page's shape is drawn from: the key without the account and
    the period boundary its charts' key names (both reach the page only through the figures),
    so wallets alike share one shape. page_key puts the charts' key (range first) last."""
    charts = key[-1]
    return (*key[:-1], charts[:1])


# The wallet templates' inputs kept whole in the shape: what they compare, test or loop over.
KEPT = frozenset({"currency", "missing_rates", "range", "ranges", "widest_figure", "balance_order"})
# Shapes per process: each about as large as a page (30–60 kB).
_SHAPES = Shapes(size=256)


def wallet_page_shell(template: str, figures: WalletFigures, key: tuple,
                      inputs: Callable[[], dict], functions: Callable[[dict], dict]) -> str:
    """The memoised page with a hole for the CSRF token. inputs() gives what the templates read
    of the figures, by name; functions(values) gives the templates' functions over such values
    (the figures themselves, or their holes while the shape is rendered)."""

    def make() -> str:
        return _SHAPES.page(_shape_scope(key), inputs(), KEPT, lambda values: render_template(
            template,
            **functions(values),
            csrf_token=lambda: CSRF_HOLE,
            request=SimpleNamespace(endpoint=request.endpoint, path=request.path),
            session=_Unkeyed("session"),
            g=_Unkeyed("g"),
            current_user=_Unkeyed("current_user"),
            get_flashed_messages=lambda *args, **kwargs: [],
        ))

    return figures.derived(key, make)


def with_csrf_token(shell: str) -> str:
    # generate_csrf's token is URL-safe base64 and dots: nothing to escape in HTML.
    return shell.replace(CSRF_HOLE, csrf_token())


def csrf_token() -> str:
    """This browser's CSRF token for the page's forms.

    Flask-WTF signs the browser's secret afresh for every page (HMAC, a timestamp, base64: a
    seventh of a memoised page), and accepts a signed token for WTF_CSRF_TIME_LIMIT (an hour).
    A token signed a minute ago is as good as a new one, so each browser's is handed out again
    for up to CSRF_REUSE_SECONDS. Keyed by the browser's secret: no browser gets another's."""
    config = current_app.config
    secret = session.get(config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))
    limit = config.get("WTF_CSRF_TIME_LIMIT", 3600)
    if not secret or (limit is not None and limit < 10 * CSRF_REUSE_SECONDS):
        return generate_csrf()
    memo = current_app.extensions.get("dashboard_csrf_tokens")
    if memo is None:
        memo = current_app.extensions.setdefault(
            "dashboard_csrf_tokens", (TTLCache(maxsize=config["READ_CACHE_COOKIES"] or 1, ttl=CSRF_REUSE_SECONDS), threading.Lock()))
    tokens, lock = memo
    with lock:
        token = tokens.get(secret)
    if token is None:
        token = generate_csrf()
        with lock:
            tokens[secret] = token
    return token
