#!/usr/bin/env bash
# Installs everything the tests need (the app, its test extra, Debian's chromium, a Japanese
# font, zbar-tools, promtool, redis-server, PostgreSQL's server programs and pgbouncer when missing
# and running as root), checks the layering and the
# lint rules, builds the documentation strictly, and runs the whole suite. Extra arguments go to
# pytest. Under CI=true (or IMAGE_CHECK=1) the image check (scripts/image-check.sh: build the OCI
# image, run it, check it) runs beside the suite, and its failure fails the run; IMAGE_CHECK=0
# leaves it out.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# The editable install compiles the catalogues (setup.py), as it does for a newcomer.
"$VENV/bin/python" -m pip install --quiet -e ".[test]"

need_packages=()
command -v chromium >/dev/null 2>&1 || need_packages+=(chromium)
# grep without -q reads to the end: with -q, fc-list could die of SIGPIPE and, under pipefail,
# the font would look missing on every run.
fc-list 2>/dev/null | grep -i "Noto Sans CJK" >/dev/null || need_packages+=(fonts-noto-cjk)
# promtool checks and unit-tests the alert rules (tests/operations/test_alert_rules.py).
command -v promtool >/dev/null 2>&1 || need_packages+=(prometheus)
# zbarimg decodes the authenticator set-up's QR code from a browser screenshot (tests/browser).
command -v zbarimg >/dev/null 2>&1 || need_packages+=(zbar-tools)
# The fault drills (tests/drills) start and kill a Redis of their own.
command -v redis-server >/dev/null 2>&1 || need_packages+=(redis-server)
# tests/replicas start their own primary, streaming replica and PgBouncer (bench/clusters.py):
# PostgreSQL's server programs (initdb, pg_ctl, pg_basebackup) and pgbouncer. Debian's pgbouncer
# package starts no server where there is no init system; the tests start their own.
{ command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/pg_basebackup" ]; } || need_packages+=(postgresql)
command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || need_packages+=(pgbouncer)
if [ ${#need_packages[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    running_before=" $(pgrep -x prometheus | tr '\n' ' ' || true)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_packages[@]}" >/dev/null
    # The package may start a Prometheus server; only promtool is wanted: stop what it started.
    for pid in $(pgrep -x prometheus); do
      case "$running_before " in *" $pid "*) ;; *) kill "$pid" 2>/dev/null || true ;; esac
    done
  else
    echo "warning: not root, cannot install ${need_packages[*]}; browser tests need Debian's chromium" >&2
  fi
fi

# The layers of setup.cfg and the rule set of pyproject.toml, before any test runs.
# lint-imports: silent when every contract is kept, its full report (and a failure) when not.
"$VENV/bin/lint-imports" --no-cache >/dev/null || "$VENV/bin/lint-imports" --no-cache
"$VENV/bin/ruff" check --no-cache --quiet .

# The documentation site (mkdocs.yml), strictly: a broken link or anchor, or a page missing from
# the navigation, fails here. Built into a temporary folder, so the checkout stays clean.
docs_site="$(mktemp -d)"
trap 'rm -rf "$docs_site"' EXIT
# Not --quiet: it hides the warnings that --strict counts, and the build passes whatever they say.
NO_MKDOCS_2_WARNING=1 "$VENV/bin/mkdocs" build --strict --site-dir "$docs_site"
rm -rf "$docs_site"
trap - EXIT

image_check_pid=""
if [ "${IMAGE_CHECK:-$([ "${CI:-}" = true ] && echo 1 || echo 0)}" = 1 ]; then
  image_log="$(mktemp "${TMPDIR:-/tmp}/image-check.XXXXXX")"
  # Beside the suite: the image's build waits on the network and the suite on PostgreSQL and Chromium.
  bash scripts/image-check.sh >"$image_log" 2>&1 &
  image_check_pid=$!
  echo "image check running in the background (log: $image_log)"
fi

# Three workers on two cores: the suite waits on PostgreSQL, Chromium and subprocesses a third of the time.
status=0
"$VENV/bin/python" -m pytest -n "${PYTEST_WORKERS:-3}" "$@" || status=$?

if [ -n "$image_check_pid" ]; then
  if wait "$image_check_pid"; then
    grep -E "^(PASS|FAIL)|image size|built in" "$image_log"
    echo "image check: passed"
  else
    echo "image check FAILED; its log:" >&2
    cat "$image_log" >&2
    [ "$status" != 0 ] || status=1
  fi
fi
exit "$status"
