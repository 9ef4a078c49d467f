"""/healthz, /readyz and /metrics: what an orchestrator and Prometheus ask, never a customer.

None of them reads the session or sets a cookie (nothing here touches `session`, the signed-in
user or the language choice), none is throttled, and none says more than an outsider may know:
check names and fixed reasons, counts by route template. /metrics is for the operator only:
METRICS_TOKEN as a bearer token, or a client address in METRICS_ALLOW; nobody by default.
"""
from __future__ import annotations

import glob
import hmac
import os

from flask import Blueprint, Response, current_app, jsonify, request
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from dashboard.core.allowed_addresses import address_allowed
from dashboard.operations.health import run_checks
from dashboard.operations.scrape import ScrapeTimeCollector

bp = Blueprint("operations", __name__)
# What generate_latest writes, named as every Prometheus 2.x server reads it (prometheus_client
# 0.22+ calls its default "version=1.0.0", which older servers do not know).
TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8"


@bp.get("/healthz")
def healthz():
    # Liveness: the process answers requests. It touches nothing, so a database outage does not
    # get every worker restarted (that is what readiness is for).
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    results = run_checks(current_app)
    ready = all(result is True for result in results.values())
    checks = {name: ({"ok": True} if result is True else {"ok": False, "reason": result}) for name, result in results.items()}
    return jsonify({"status": "ready" if ready else "not ready", "checks": checks}), 200 if ready else 503


def _allowed() -> bool:
    config = current_app.config
    token = config["METRICS_TOKEN"]
    sent = request.headers.get("Authorization", "")
    if token and sent.startswith("Bearer ") and hmac.compare_digest(sent[len("Bearer "):].encode(), token.encode()):
        return True
    allow = config["METRICS_ALLOW"]
    # address_allowed lets anyone in when the list is empty; here empty means nobody.
    return bool(allow) and address_allowed(request.remote_addr, allow)


@bp.get("/metrics")
def metrics():
    if not _allowed():
        # For the operator's scraper, not a customer (so not translated); the same answer for a
        # wrong token, a missing one and an address not allowed.
        return jsonify({"success": False, "error": "metrics need METRICS_TOKEN as a bearer token, "
                                                   "or a client address in METRICS_ALLOW"}), 403
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry.register(_Workers(os.environ["PROMETHEUS_MULTIPROC_DIR"]))
    else:
        registry.register(_ThisProcess())
    registry.register(ScrapeTimeCollector(current_app._get_current_object()))  # noqa: SLF001 (Werkzeug's unwrap)
    return Response(generate_latest(registry), content_type=TEXT_FORMAT)


class _ThisProcess:
    """The default registry's metrics (this process's), without registering the scrape-time
    collector there for good."""

    def collect(self):
        return REGISTRY.collect()


# Where operator commands running beside the app (the rate ticker) keep their metric files:
# gunicorn empties the directory's own files at start, never this one's.
COMMANDS_SUBDIR = "commands"
# Where the live wallet's stream processes keep theirs (their PROMETHEUS_MULTIPROC_DIR).
STREAMS_SUBDIR = "streams"


class _Workers:
    """Every gunicorn worker's values (prometheus_client's multiprocess mode), and those of the
    commands writing to COMMANDS_SUBDIR and the stream processes writing to STREAMS_SUBDIR,
    added up as one set of metrics."""

    def __init__(self, directory: str):
        self._directory = directory

    def collect(self):
        files = [path for subdirectory in ("", COMMANDS_SUBDIR, STREAMS_SUBDIR)
                 for path in glob.glob(os.path.join(self._directory, subdirectory, "*.db"))]
        return MultiProcessCollector.merge(files, accumulate=True)
