#!/bin/sh
# Run once by the postgres image when the primary's data directory is first made
# (/docker-entrypoint-initdb.d): the streaming replica may connect for replication, with the
# same password as the app (POSTGRES_PASSWORD). wal_level=replica and max_wal_senders=10 are
# PostgreSQL 15's defaults already.
set -eu
echo "host replication ${POSTGRES_USER} all scram-sha-256" >> "$PGDATA/pg_hba.conf"
