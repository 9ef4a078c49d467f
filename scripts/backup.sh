#!/usr/bin/env bash
# Backs up the dashboard's PostgreSQL database with pg_dump in its custom format (compressed,
# restored with scripts/restore.sh), written whole or not at all: to a temporary file beside
# FILE, checked readable with pg_restore --list, then renamed.
#
#   bash scripts/backup.sh FILE [DATABASE_URL]
#
# The database is the URL given, else $DATABASE_URL (the app's own setting; a SQLAlchemy URL
# such as postgresql+psycopg://user@host/db is accepted as libpq's postgresql://user@host/db).
# FILE must not exist. pg_dump and pg_restore are taken from $PG_BINDIR when set (e.g.
# "$(pg_config --bindir)"), else from PATH; pg_dump refuses a server newer than itself.
# A password is best given by ~/.pgpass or PGPASSWORD, not in the URL (seen in `ps`).
set -euo pipefail

usage() { echo "usage: bash scripts/backup.sh FILE [DATABASE_URL]" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
file="$1"
url="${2:-${DATABASE_URL:-}}"
[ -n "$url" ] || { echo "backup: no database: give DATABASE_URL as the second argument or in the environment" >&2; exit 2; }
case "$url" in
    postgres://*|postgresql://*|postgresql+*://*) ;;
    sqlite:*) echo "backup: $url is SQLite, a file: copy it with sqlite3's .backup, not pg_dump" >&2; exit 2 ;;
    *) echo "backup: not a PostgreSQL URL (postgresql://user@host:port/database)" >&2; exit 2 ;;
esac
url="$(printf '%s' "$url" | sed -E 's#^postgresql\+[A-Za-z0-9_]+://#postgresql://#')"
[ ! -e "$file" ] || { echo "backup: $file exists; refusing to overwrite it" >&2; exit 1; }
bin="${PG_BINDIR:+$PG_BINDIR/}"

folder="$(dirname -- "$file")"
[ -d "$folder" ] || { echo "backup: no folder $folder" >&2; exit 1; }
partial="$(mktemp "$folder/.$(basename -- "$file").XXXXXX")"
trap 'rm -f -- "$partial"' EXIT
"${bin}pg_dump" --format=custom --no-password --file="$partial" --dbname="$url"
entries="$("${bin}pg_restore" --list "$partial" | grep -c ' TABLE DATA ' || true)"
mv -- "$partial" "$file"
trap - EXIT
echo "backup: $file written ($(wc -c < "$file") bytes, $entries tables' data)"
