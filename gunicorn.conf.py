"""gunicorn's settings for the dashboard (read from the working directory, or `-c gunicorn.conf.py`).

gunicorn itself already takes the worker count from WEB_CONCURRENCY and binds 0.0.0.0:$PORT when
PORT is set; this file adds what the app needs around its workers:

- prometheus_client's multiprocess mode: each worker writes its metrics to files in
  PROMETHEUS_MULTIPROC_DIR (a fresh temporary directory when unset), emptied when gunicorn
  starts so no count of a previous run is added in, and a dead worker's live gauges dropped;
- graceful shutdown: on SIGTERM workers finish the requests in flight, up to GRACEFUL_TIMEOUT
  seconds (default 30), before they stop;
- gunicorn's own lines in the app's format (LOG_FORMAT), and no access log: the app writes one
  line per request itself, with its request id (dashboard/operations/request_log.py).
"""
import glob
import os
import shutil
import tempfile

from gunicorn.glogging import Logger

# Before anything imports prometheus_client: the directory is read when it is first imported.
_MADE_HERE = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _MADE_HERE:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="dashboard-metrics-")
METRICS_DIR = os.environ["PROMETHEUS_MULTIPROC_DIR"]

wsgi_app = "dashboard:create_app()"
graceful_timeout = int(os.environ.get("GRACEFUL_TIMEOUT", "30"))
timeout = int(os.environ.get("WORKER_TIMEOUT", "30"))
accesslog = None


class AppLogsEachRequest(Logger):
    """gunicorn's logger without its access log, which the app's own line per request replaces
    (dashboard/operations/request_log.py). With logconfig_dict set (below), gunicorn counts an
    access log as configured and builds every request's access fields and log record for a
    logger that has no handler: 12 % of a sync worker's CPU on a cached /api/balance (py-spy),
    and the /api/balance ratio of bench/run.sh fell from 78 % to 63-65 % of bare."""

    access_log_enabled = False  # gunicorn 27's protocol handlers skip building log data on it

    def access(self, resp, req, environ, request_time):
        return


logger_class = AppLogsEachRequest
# gunicorn 23+ opens a control socket in ~/.gunicorn; nothing here uses it, and two servers on one
# machine would fight over it.
control_socket_disable = True
_json = (os.environ.get("LOG_FORMAT") or ("text" if os.environ.get("DASHBOARD_ENV") == "development" else "json")) == "json"
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"app": {"()": "dashboard.operations.logs.JsonFormatter" if _json else "dashboard.operations.logs.TextFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "app", "stream": "ext://sys.stderr"}},
    "root": {"level": "INFO", "handlers": ["stderr"]},
    "loggers": {"gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False}},
}


def on_starting(server):
    os.makedirs(METRICS_DIR, exist_ok=True)
    # Only this directory's own files: commands (the rate ticker) keep theirs in commands/.
    for path in glob.glob(os.path.join(METRICS_DIR, "*.db")):
        os.remove(path)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _MADE_HERE:  # a temporary directory of this run's own: nothing outlives the server
        shutil.rmtree(METRICS_DIR, ignore_errors=True)
