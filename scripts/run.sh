#!/usr/bin/env bash
# Installs the app into .venv, builds the database, loads the demo data and serves it on
# http://localhost:5000 (development settings: SQLite in instance/, a development secret key), with a
# demo ticker moving the demo rates meanwhile. One uvicorn serves the Flask app and the live
# wallet's stream (/api/stream) together, so the page and its stream share one origin.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e .   # compiles the catalogues too (setup.py)
export DASHBOARD_ENV="${DASHBOARD_ENV:-development}"
"$VENV/bin/flask" --app dashboard db upgrade
"$VENV/bin/flask" --app dashboard seed-demo
# Keep the demo rates moving (source "demo"), so the page never goes stale; stopped with the server.
"$VENV/bin/flask" --app dashboard demo-ticker --every "${DEMO_TICK_SECONDS:-10}" >/dev/null &
TICKER=$!
trap 'kill "$TICKER" 2>/dev/null || true' EXIT INT TERM
# localhost, not 127.0.0.1: browsers refuse an IP address as a passkey's relying party, and
# treat http://localhost as a secure context.
echo "Serving on http://localhost:${PORT:-5000} — sign in as demo@example.com / demopass (Ctrl-C to stop)"
"$VENV/bin/uvicorn" --factory dashboard.stream:create_development_app --host 127.0.0.1 --port "${PORT:-5000}" \
  --no-access-log --timeout-graceful-shutdown 2
