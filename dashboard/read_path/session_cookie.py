"""Flask's signed-cookie session, with the contents of recently verified cookies remembered.

A browser sends the same session cookie, byte for byte, with every refresh until the session
changes. Verifying it (base64, zlib, two HMACs, tagged JSON) cost a sixth of a cached
/api/balance, and gave the same answer each time: the same bytes under the same SECRET_KEY
verify to the same contents. So the answer is kept per exact cookie string, with the moment it
was signed, and the cookie's age is still checked on every request as Flask checks it. A new
SECRET_KEY means a new process and an empty memo; a cookie never seen is verified in full.
"""
from __future__ import annotations

import threading
import time

from cachetools import LRUCache
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature


class MemoisedCookieSessionInterface(SecureCookieSessionInterface):
    def __init__(self, max_cookies: int):
        self._verified: LRUCache = LRUCache(maxsize=max(1, max_cookies))
        self._lock = threading.Lock()
        self._enabled = max_cookies > 0

    def open_session(self, app, request):
        value = request.cookies.get(self.get_cookie_name(app))
        if not value or not app.secret_key:
            return super().open_session(app, request)
        contents = self.remembered(app, value)
        if contents is not None:
            return self.session_class(_fresh_copy(contents))
        serializer = self.get_signing_serializer(app)
        max_age = app.permanent_session_lifetime.total_seconds()
        try:
            contents, signed_at = serializer.loads(value, max_age=int(max_age), return_timestamp=True)
        except BadSignature:  # includes an expired signature, as Flask's own
            return self.session_class()
        if self._enabled:
            with self._lock:
                self._verified[value] = (contents, signed_at.timestamp())
        return self.session_class(_fresh_copy(contents))

    def remembered(self, app, value: str | None) -> dict | None:
        """The contents this exact cookie was verified to hold, while within its age (as Flask
        checks it); None when it was never verified here (nothing is verified now). Shared: never
        modify what it returns."""
        if not value or not self._enabled or not app.secret_key:
            return None
        with self._lock:
            known = self._verified.get(value)
        if known is None or time.time() - known[1] > app.permanent_session_lifetime.total_seconds():
            return None
        return known[0]

    def save_session(self, app, session, response):
        # A session this request did not change sends no cookie; Flask's own method still reads
        # seven cookie settings to find that out. Only its Vary header is left to add.
        if not session.modified and not self.should_set_cookie(app, session):
            if session.accessed:
                _vary_on_cookie(response)
            return
        super().save_session(app, session, response)


# What an answer that read the session adds, so no cache serves it to another browser.
VARY_ON_COOKIE = ("Vary", "Cookie")


def _vary_on_cookie(response) -> None:
    # As response.vary.add("Cookie"), without parsing a header that is usually not there yet.
    if "Vary" in response.headers:
        response.vary.add("Cookie")
    else:
        response.headers.add(*VARY_ON_COOKIE)


def _fresh_copy(contents: dict) -> dict:
    # A request may change its session in place; the remembered contents must not change with it.
    return {key: _copy(value) for key, value in contents.items()}


def _copy(value):
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def init_app(app) -> None:
    app.session_interface = MemoisedCookieSessionInterface(app.config["READ_CACHE_COOKIES"])
