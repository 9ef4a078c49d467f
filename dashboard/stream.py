"""The stream process's entry points (ASGI, for uvicorn): the live wallet's /api/stream over the
Flask app of create_app(), alone (production: the reverse proxy sends it /api/stream) or in
front of the whole Flask app (development: one process, one origin, no proxy).

    uvicorn --factory dashboard.stream:create_stream_app --port 8001
    uvicorn --factory dashboard.stream:create_development_app --port 5000
"""
from __future__ import annotations

import os

# prometheus_client opens its files in PROMETHEUS_MULTIPROC_DIR when dashboard.metrics is first
# imported: the directory must be there first (a volume made before it was in the image).
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

from a2wsgi import WSGIMiddleware  # noqa: E402 - after the directory is made

from dashboard import create_app  # noqa: E402
from dashboard.live.stream import stream_app  # noqa: E402


def create_stream_app():
    return stream_app(create_app())


def create_development_app():
    flask_app = create_app()
    # The Flask app as the development server served it, in a pool of threads.
    return stream_app(flask_app, rest=WSGIMiddleware(flask_app, workers=8))
