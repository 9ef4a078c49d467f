#!/usr/bin/env bash
# Installs everything the tests need (the app, its test extra, Debian's chromium and a Japanese
# font when missing and running as root) and runs the whole suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e ".[test]"
"$VENV/bin/pybabel" compile -d dashboard/translations >/dev/null

need_packages=()
command -v chromium >/dev/null 2>&1 || need_packages+=(chromium)
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || need_packages+=(fonts-noto-cjk)
if [ ${#need_packages[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_packages[@]}" >/dev/null
  else
    echo "warning: not root, cannot install ${need_packages[*]}; browser tests need Debian's chromium" >&2
  fi
fi

# Two workers: the suite waits on PostgreSQL, Chromium and subprocesses as much as it computes.
exec "$VENV/bin/python" -m pytest -n "${PYTEST_WORKERS:-2}" "$@"
