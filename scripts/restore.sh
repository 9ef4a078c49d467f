#!/usr/bin/env bash
# Restores a backup made by scripts/backup.sh (pg_dump's custom format) into an EMPTY PostgreSQL
# database, in one transaction: all of it or nothing. A database that already holds a table,
# view or sequence is refused: restoring over data would mix two histories.
#
#   bash scripts/restore.sh FILE [DATABASE_URL]
#
# The database is the URL given, else $DATABASE_URL; create it first (createdb, or CREATE
# DATABASE). Objects are owned by the user who restores (--no-owner): run it as the app's user.
# pg_restore and psql come from $PG_BINDIR when set, else from PATH. Afterwards check the copy:
# flask --app dashboard balances verify --anchor anchors.jsonl (docs/operations.md).
set -euo pipefail

usage() { echo "usage: bash scripts/restore.sh FILE [DATABASE_URL]" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
file="$1"
url="${2:-${DATABASE_URL:-}}"
[ -n "$url" ] || { echo "restore: no database: give DATABASE_URL as the second argument or in the environment" >&2; exit 2; }
case "$url" in
    postgres://*|postgresql://*|postgresql+*://*) ;;
    *) echo "restore: not a PostgreSQL URL (postgresql://user@host:port/database)" >&2; exit 2 ;;
esac
url="$(printf '%s' "$url" | sed -E 's#^postgresql\+[A-Za-z0-9_]+://#postgresql://#')"
bin="${PG_BINDIR:+$PG_BINDIR/}"

[ -f "$file" ] || { echo "restore: no backup file $file" >&2; exit 1; }
"${bin}pg_restore" --list "$file" > /dev/null 2>&1 \
    || { echo "restore: $file is not a backup in pg_dump's custom format" >&2; exit 1; }
relations="$("${bin}psql" --no-password --no-psqlrc --quiet --tuples-only --no-align --dbname="$url" --command="
    SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'")" \
    || { echo "restore: cannot reach the database to check that it is empty" >&2; exit 1; }
if [ "$relations" != 0 ]; then
    echo "restore: the database is not empty ($relations tables, views or sequences); restore only into a new, empty database" >&2
    exit 1
fi
"${bin}pg_restore" --no-password --no-owner --exit-on-error --single-transaction --dbname="$url" "$file"
echo "restore: $file restored; now run: flask --app dashboard balances verify --anchor FILE"
