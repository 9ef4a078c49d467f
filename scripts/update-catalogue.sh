#!/usr/bin/env bash
# Extracts every user-visible string into messages.pot and merges new ones into the Japanese
# catalogue; then translate the new entries in dashboard/translations/ja/LC_MESSAGES/messages.po.
set -euo pipefail
cd "$(dirname "$0")/.."
PYBABEL="${VENV:-.venv}/bin/pybabel"
"$PYBABEL" extract -F babel.cfg -k _l -k lazy_gettext --sort-by-file --project wallet-dashboard -o dashboard/translations/messages.pot .
"$PYBABEL" update -i dashboard/translations/messages.pot -d dashboard/translations --no-fuzzy-matching --ignore-obsolete
"$PYBABEL" compile -d dashboard/translations
