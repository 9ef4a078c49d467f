"""Running the app as an operator: health and readiness, Prometheus metrics, request logs."""
from __future__ import annotations


def init_app(app) -> None:
    """Called last in the factory (the request log must wrap every other middleware)."""
    from dashboard.operations import logs, request_log
    from dashboard.operations.views import bp

    logs.configure(app)
    app.register_blueprint(bp)
    request_log.init_app(app)
