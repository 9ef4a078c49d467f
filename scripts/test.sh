#!/usr/bin/env bash
# Installs everything the tests need (the app, its test extra, Debian's chromium and a Japanese
# font and zbar-tools when missing and running as root), checks the layering and the lint rules, and runs the
# whole suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# The editable install compiles the catalogues (setup.py), as it does for a newcomer.
"$VENV/bin/python" -m pip install --quiet -e ".[test]"

need_packages=()
command -v chromium >/dev/null 2>&1 || need_packages+=(chromium)
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || need_packages+=(fonts-noto-cjk)
# zbarimg decodes the authenticator set-up's QR code from a browser screenshot (tests/browser).
command -v zbarimg >/dev/null 2>&1 || need_packages+=(zbar-tools)
if [ ${#need_packages[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_packages[@]}" >/dev/null
  else
    echo "warning: not root, cannot install ${need_packages[*]}; browser tests need Debian's chromium" >&2
  fi
fi

# The layers of setup.cfg and the rule set of pyproject.toml, before any test runs.
# lint-imports: silent when every contract is kept, its full report (and a failure) when not.
"$VENV/bin/lint-imports" --no-cache >/dev/null || "$VENV/bin/lint-imports" --no-cache
"$VENV/bin/ruff" check --no-cache --quiet .

# Three workers on two cores: the suite waits on PostgreSQL, Chromium and subprocesses a third of the time.
exec "$VENV/bin/python" -m pytest -n "${PYTEST_WORKERS:-3}" "$@"
