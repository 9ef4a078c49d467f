"""The Prometheus metrics every area counts into, defined once, low in the layers so any area may import them.

Names follow Prometheus' conventions (base units, `_total` for counters, `_seconds` for times)
and every label takes a small, fixed set of values: a route template, a method, a status, an
outcome, a currency code. Never an email, an address, an amount or a raw path: those would be
personal, or would grow without bound.

Under gunicorn, prometheus_client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR, set by
gunicorn.conf.py before this module is imported) keeps each process's values in a memory-mapped
file, and /metrics adds them up across workers (operations/views.py). Elsewhere (tests,
the development server, one-off commands) the values live in this process.

Figures read at scrape time rather than counted (each rate's age, readiness) are in
operations/scrape.py.
"""
from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# The WSGI environment keys through which Flask's routing tells the request log which route
# answered (operations/request_log.py), and which request id it has.
ROUTE_KEY = "dashboard.route"
REQUEST_ID_KEY = "dashboard.request_id"
# A request no route matched (404, 405): one label value, not the path a scanner tried.
UNMATCHED_ROUTE = "(unmatched)"

HTTP_REQUESTS = Counter(
    "dashboard_http_requests", "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"])
# From a cached 304 (~1 ms) to a cold wallet page on a busy database.
HTTP_REQUEST_DURATION = Histogram(
    "dashboard_http_request_duration_seconds", "Time from the request's arrival to the end of its answer, by route template.",
    ["route"], buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))

READ_CACHE_LOOKUPS = Counter(
    "dashboard_read_cache_lookups", "Read cache lookups, by cache (sessions, wallets) and result (hit, miss).",
    ["cache", "result"])
# result: replica (a replica fresh enough answered), primary (none was), fallback (a replica
# failed during the read, which the primary then answered).
REPLICA_READS = Counter(
    "dashboard_replica_reads", "Signed-in reads routed with DATABASE_REPLICA_URLS set, by result (replica, primary, fallback).",
    ["result"])
CHANGE_FEED_RECONNECTS = Counter(
    "dashboard_change_feed_reconnects", "Times a process's change feed lost its LISTEN connection and had to connect again.")
# A timestamp, not an age (Prometheus' advice): the alert computes time() - it. "max" across
# the live workers: the newest notification any of them heard.
CHANGE_FEED_LAST_NOTIFICATION = Gauge(
    "dashboard_change_feed_last_notification_timestamp_seconds",
    "Unix time of the last change notification the process's change feed heard.", multiprocess_mode="max")

RATE_REFRESH_FAILURES = Counter(
    "dashboard_rate_refresh_failures", "Currencies whose rate a refresh could not fetch or store, by currency.",
    ["currency"])
RATE_REFRESHES = Counter(
    "dashboard_rate_refreshes", "Rate refresh runs, by outcome (ok: every currency got a rate; failed: one or more did not).",
    ["outcome"])

SIGN_IN_OUTCOMES = ("success", "bad_password", "throttled", "second_step_failed")
SIGN_INS = Counter(
    "dashboard_sign_ins", "Sign-in attempts, by outcome: success, bad_password, throttled, second_step_failed.",
    ["outcome"])
SIGNED_API_FAILURES = Counter(
    "dashboard_signed_api_failures", "Signed API requests refused, by status (401 bad signature or key, 403 address "
    "or permission, 429 over the failure limit).", ["status"])

JOURNAL_ENTRIES = Counter("dashboard_journal_entries", "Balance journal entries committed.")
COMPENSATION_ROWS = Counter(
    "dashboard_compensation_rows", "Compensation plan lines committed, by outcome (applied, refused).", ["outcome"])

# The live wallet's stream processes (dashboard/live): in their own PROMETHEUS_MULTIPROC_DIR
# subdirectory (operations/views.py adds it in), or in-process under scripts/run.sh.
STREAMS_OPEN = Gauge("dashboard_streams_open", "Open /api/stream connections, summed over the live stream processes.",
                     multiprocess_mode="livesum")
STREAM_EVENTS = Counter("dashboard_stream_events", "Figures events handed to open streams.")
STREAMS_REFUSED = Counter(
    "dashboard_streams_refused", "Streams refused at connect, by status (400 bad Last-Event-ID, 401 or 403 no valid "
    "session, 503 the figures could not be made).", ["status"])
# A round makes every changed account's figures after a change; after a rate tick, every open
# account's. Rounds near a second mean pages get their figures late (the StreamFiguresLate alert).
STREAM_ROUND_SECONDS = Histogram(
    "dashboard_stream_round_seconds", "Time a stream process took to make the figures of every account a change touched.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))

# Pre-create the label sets an alert divides by, so a series exists (at 0) before its first event.
for _outcome in SIGN_IN_OUTCOMES:
    SIGN_INS.labels(_outcome)
for _status in ("401", "403", "429"):
    SIGNED_API_FAILURES.labels(_status)
for _outcome in ("ok", "failed"):
    RATE_REFRESHES.labels(_outcome)
for _status in ("400", "401", "503"):
    STREAMS_REFUSED.labels(_status)
