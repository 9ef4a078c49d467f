#!/usr/bin/env bash
# The bench in one command (see bench/README.md); arguments go to `python -m bench`, e.g. --quick.
# Python: $PYTHON, else the active virtualenv, else .venv, else python3 (needs the app's requirements).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${PYTHON:-}" ]; then
  if [ -n "${VIRTUAL_ENV:-}" ]; then PYTHON="$VIRTUAL_ENV/bin/python"
  elif [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python
  else PYTHON=python3
  fi
fi
if ! command -v wrk >/dev/null 2>&1 && [ ! -x /usr/bin/wrk ]; then
  if [ "$(id -u)" -eq 0 ]; then apt-get install -y -q wrk; else echo "wrk is missing: sudo apt-get install -y wrk" >&2; exit 1; fi
fi

# Every gunicorn the bench starts writes its pid here; whatever way this script ends, each one
# still running is stopped with its workers (its own process group), by pid, nothing else.
export BENCH_PID_DIR
BENCH_PID_DIR="$(mktemp -d -t bench-pids.XXXXXX)"
stop_servers() {
  for pidfile in "$BENCH_PID_DIR"/*.pid; do
    [ -e "$pidfile" ] || continue
    pid="$(cat "$pidfile" 2>/dev/null || true)"
    [ -n "$pid" ] && kill -TERM -- "-$pid" 2>/dev/null || true
  done
  rm -rf "$BENCH_PID_DIR"
}
trap stop_servers EXIT

# In the background so a TERM or Ctrl-C reaches this script at once; it is passed on as TERM,
# which the bench turns into an orderly stop of its servers.
"$PYTHON" -m bench "$@" &
bench_pid=$!
trap 'kill -TERM "$bench_pid" 2>/dev/null; wait "$bench_pid"; exit 130' INT
trap 'kill -TERM "$bench_pid" 2>/dev/null; wait "$bench_pid"; exit 143' TERM
wait "$bench_pid"
