"""Signs in to a served dashboard as a browser would (CSRF token from the form) and returns the cookie."""
from __future__ import annotations

import html
import re
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

from .wrk import USER_AGENT

_CSRF_FIELD = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"|<input[^>]*value="([^"]+)"[^>]*name="csrf_token"')


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # The 302 after a good sign-in is the answer we check; following it would hide it.
    def redirect_request(self, *args, **kwargs):
        return None


def csrf_token(page: str) -> str:
    match = _CSRF_FIELD.search(page)
    if not match:
        raise RuntimeError("the sign-in page has no csrf_token field")
    return html.unescape(match.group(1) or match.group(2))


def sign_in(base_url: str, email: str, password: str) -> str:
    """The `session=...` cookie of a fresh sign-in; raises when the sign-in is refused."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)
    opener.addheaders = [("User-Agent", USER_AGENT)]
    with opener.open(f"{base_url}/login", timeout=30) as response:
        page = response.read().decode()
    form = urllib.parse.urlencode({"email": email, "password": password, "csrf_token": csrf_token(page)}).encode()
    try:
        opener.open(urllib.request.Request(f"{base_url}/login", data=form, method="POST"), timeout=30)
        raise RuntimeError(f"sign-in as {email} did not redirect: refused")
    except urllib.error.HTTPError as error:
        if error.code != 302:
            raise RuntimeError(f"sign-in as {email} answered {error.code}") from None
    # As a browser does, load the page once: it stores the forms' CSRF token in the session, so
    # the cookie wrk replays is the settled one and no answer has to sign a new cookie.
    with opener.open(f"{base_url}/", timeout=30) as response:
        response.read()
    cookies = {cookie.name: cookie.value for cookie in jar}
    if "session" not in cookies:
        raise RuntimeError("sign-in set no session cookie")
    cookie = f"session={cookies['session']}"
    # What wrk will send: if the answer signs a new cookie, every measured request would too.
    check = urllib.request.Request(f"{base_url}/api/balance", headers={"Cookie": cookie, "User-Agent": USER_AGENT})
    with urllib.request.urlopen(check, timeout=30) as response:
        response.read()
        if response.headers.get("Set-Cookie"):
            raise RuntimeError("the replayed session cookie is answered with a new one; the bench would measure that")
    return cookie


def current_etag(base_url: str, cookie: str) -> str:
    """The ETag of the account's /api/balance now, as the page's script keeps it between refreshes."""
    request = urllib.request.Request(f"{base_url}/api/balance", headers={"Cookie": cookie, "User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
        etag = response.headers.get("ETag")
    if not etag:
        raise RuntimeError("/api/balance sent no ETag")
    return etag


def answers_not_modified(base_url: str, cookie: str, etag: str) -> bool:
    """Whether /api/balance answers this ETag with 304, as the measured refresh expects."""
    request = urllib.request.Request(f"{base_url}/api/balance",
                                     headers={"Cookie": cookie, "User-Agent": USER_AGENT, "If-None-Match": etag})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            return False
    except urllib.error.HTTPError as answer:
        return answer.code == 304
