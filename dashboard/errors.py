"""Error answers: a translated page for people, a JSON body for the API, never a stack trace."""
from __future__ import annotations

import logging

from flask import current_app, g, jsonify, make_response, render_template, request
from flask.globals import request_ctx
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from limits.errors import StorageError
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import BadHost, HTTPException, SecurityError

from dashboard.extensions import db, login

log = logging.getLogger(__name__)

THROTTLE_STORE_RETRY_SECONDS = 30
# PostgreSQL's query_canceled: what statement_timeout raises (a psycopg OperationalError).
QUERY_CANCELED = "57014"


def _messages() -> dict[int, str]:
    # Our own words, translated, rather than Werkzeug's English descriptions.
    return {
        400: _("The request could not be understood."),
        401: _("Please sign in."),
        403: _("You are not allowed to do that."),
        404: _("This page does not exist."),
        405: _("This address does not accept that kind of request."),
        413: _("The request is too large."),
        414: _("The address is too long."),
        429: _("Too many requests. Please wait and try again."),
        431: _("The request headers are too large."),
        500: _("Something went wrong on our side. Please try again later."),
        503: _("The service is temporarily unavailable. Please try again in a moment."),
    }


# Where the extension keeps the paths of the views marked with answers_json.
JSON_PATHS = "dashboard_json_paths"


def answers_json(view):
    """Marks a view that answers JSON (the passkey ceremonies' endpoints): its errors, whatever
    raised them (CSRF, 404, 405, 413, 429, 503), answer JSON too, as everything under /api/ does."""
    view.answers_json = True
    return view


def wants_json() -> bool:
    """Every JSON endpoint answers its errors in one shape, {"success": false, "error": ...}: the
    exchange's own, which its API (/api/accounts/...) must keep. Decided by the path, as a 404 or
    405 has no view."""
    path = request.path
    return path.startswith("/api/") or path in current_app.extensions.get(JSON_PATHS, ())


def _urls_for_a_refused_host() -> None:
    """A Host that Flask refused (not in TRUSTED_HOSTS, or not encodable: "x..y", a 64-character
    label) leaves the request without a URL adapter, and the error page's url_for would fail,
    turning the 400 into the server's bare 500. The page's links are relative, so any name builds
    them: the first trusted host's."""
    context = request_ctx._get_current_object() if request_ctx else None  # noqa: SLF001 (Werkzeug's documented unwrap)
    if context is not None and context.url_adapter is None:
        hosts = current_app.config.get("TRUSTED_HOSTS") or ["localhost"]
        server_name = hosts[0].lstrip(".")
        context.url_adapter = current_app.url_map.bind(server_name, script_name=request.root_path or None,
                                                       url_scheme=request.scheme)


def render_error(status: int, message: str | None = None, headers=None):
    message = message or _messages().get(status) or _messages()[400 if status < 500 else 500]
    if wants_json():
        response = jsonify({"success": False, "error": message})
    else:
        _urls_for_a_refused_host()
        response = make_response(render_template("errors/error.html", status=status, message=message))
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def init_app(app) -> None:
    """After the blueprints: the paths of their JSON views are collected here."""
    app.extensions[JSON_PATHS] = frozenset(
        rule.rule for rule in app.url_map.iter_rules()
        if getattr(app.view_functions.get(rule.endpoint), "answers_json", False))

    # Registered after Flask-SQLAlchemy's own, so it runs first. The answer is made by now; if
    # the server went away meanwhile (a restart), closing the session's transaction fails, and
    # an error raised here, past every error handler, turned the answer into gunicorn's bare
    # 500. The connection is dropped instead (no ROLLBACK sent); the pool replaces it.
    @app.teardown_appcontext
    def close_session(_error=None):
        try:
            db.session.remove()
        except DBAPIError as error:
            log.warning("database connection lost as the request ended: %s", error.__class__.__name__)
            db.session().invalidate()
            db.session.remove()

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_error(400, _("The form has expired or did not come from this site. Please reload the page and try again."))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        headers = {}
        if error.code == 405:
            headers = {name: value for name, value in error.get_headers() if name.lower() == "allow"}
        # Messages we raised ourselves are already translated; Werkzeug's defaults are not, nor
        # its refusal of a Host ("Host 'x' is not trusted.", which would echo the header back).
        own = error.description if error.description and error.description != type(error).description else None
        if isinstance(error, SecurityError | BadHost):
            own = _("This site is not served under the host name the request named.")
        return render_error(error.code or 500, own, headers)

    # The throttling store (Redis) is down: sign-in and the signed API cannot count attempts,
    # so they refuse rather than let guesses through uncounted. Pages that are not throttled
    # never reach the store and keep working.
    @app.errorhandler(RedisError)
    @app.errorhandler(StorageError)
    def throttle_store_unavailable(error):
        log.error("throttling store unavailable: %s", error.__class__.__name__)
        db.session.rollback()
        if wants_json():
            message = _("The API is temporarily unavailable. Please try again in a moment.")
        else:
            message = _("Signing in is temporarily unavailable. Please try again in a moment.")
        return render_error(503, message, headers={"Retry-After": str(THROTTLE_STORE_RETRY_SECONDS)})

    # Connection-level failures only: the database is down, unreachable or dropped us, or a
    # statement outran DATABASE_STATEMENT_TIMEOUT_MS. A DataError or IntegrityError is a bug or
    # bad input, not an outage.
    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def database_unavailable(error):
        if getattr(getattr(error, "orig", None), "sqlstate", None) == QUERY_CANCELED:
            # Stalled (a lock, a slow plan) past DATABASE_STATEMENT_TIMEOUT_MS: the database
            # cancelled it and rolled it back; the worker is free for the next request.
            log.warning("database statement timed out (DATABASE_STATEMENT_TIMEOUT_MS)")
        else:
            log.warning("database unavailable: %s", error.__class__.__name__)
        g.database_down = True
        # Flask-Login loads the account for every template; with no database, render the
        # page for an anonymous visitor instead of failing again inside the error handler.
        g._login_user = login.anonymous_user()  # noqa: SLF001 (Flask-Login reads its user from here)
        try:
            db.session.rollback()
        except DBAPIError:
            pass
        return render_error(503, headers={"Retry-After": "5"})

    @app.errorhandler(Exception)
    def unexpected(error):
        log.exception("unhandled error")
        db.session.rollback()
        return render_error(500)
