"""Log lines an operator's tools can read: one JSON object per line (LOG_FORMAT=json, the default
outside development) or a readable line (text), each carrying the id of the request it belongs to.

What goes in a line is chosen by whoever logs it, and nothing here adds request data by itself:
no path, query string, header, cookie, form field or body is ever copied in, so no password,
token, email or amount can reach a log through this module.
"""
from __future__ import annotations

import contextvars
import json
import logging
import sys
from datetime import UTC, datetime

# The request (or operator command) a log line belongs to; "-" outside any.
CURRENT_REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("dashboard_request_id", default="-")
# Fields a caller may pass with `extra=` that end up in the line (anything else is left out).
FIELDS = ("request_id", "method", "route", "status", "duration_seconds", "command", "exit_code", "event")
HANDLER_MARK = "dashboard_log_handler"


class RequestIdFilter(logging.Filter):
    """Stamps every record with the current request's id, so an error logged deep in a view
    can be found from the X-Request-ID a customer reports."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = CURRENT_REQUEST_ID.get()
        return True


_second = [None, ""]  # the last whole second formatted, and its text: lines come many a second


def _time(record: logging.LogRecord) -> str:
    second = int(record.created)
    if _second[0] != second:
        _second[:] = [second, datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")]
    return f"{_second[1]}.{int((record.created - second) * 1000):03d}Z"


# Kept, not made per line as json.dumps with these options does: a line per request, and the
# encoder's making was 40 % of the line's encoding (1.7 of 4.4 µs).
_ENCODE = json.JSONEncoder(ensure_ascii=False, default=str).encode


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {"time": _time(record), "level": record.levelname.lower(), "logger": record.name,
                "message": record.getMessage()}
        fields = record.__dict__
        for name in FIELDS:
            value = fields.get(name)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return _ENCODE(line)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(f"{name}={getattr(record, name)}" for name in FIELDS[1:] if getattr(record, name, None) is not None)
        text = f"{_time(record)} {record.levelname:<7} [{getattr(record, 'request_id', '-')}] {record.name}: {record.getMessage()}"
        text = f"{text} {extras}" if extras else text
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def formatter(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else TextFormatter()


class StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a line is written (as logging's own last-resort
    handler does), not to the stream that was stderr when the app was made."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


def configure(app) -> None:
    """One handler on the app's logger ("dashboard", Flask's app.logger too), writing to stderr
    where gunicorn and containers collect it. Logging is the process's, and the last app made
    decides it (the CLI and tests make several). Under TESTING the handler is taken away again,
    so that pytest's own capture sees every record."""
    logger = logging.getLogger("dashboard")
    handler = next((handler for handler in logger.handlers if getattr(handler, HANDLER_MARK, False)), None)
    if app.config.get("TESTING"):
        if handler is not None:
            logger.removeHandler(handler)
            logger.setLevel(logging.NOTSET)
            logger.propagate = True
        return
    if handler is None:
        handler = StderrHandler()
        setattr(handler, HANDLER_MARK, True)
        handler.addFilter(RequestIdFilter())
        logger.addHandler(handler)
    handler.setFormatter(formatter(app.config["LOG_FORMAT"]))
    logger.setLevel(logging.INFO)
    # Ours alone: a root handler someone else configured would print every line twice.
    logger.propagate = False
