#!/bin/sh
# The streaming replica's entry point (compose.replicas.yaml): on first start, copy the primary
# with pg_basebackup -R (which writes standby.signal and primary_conninfo), then serve as a hot
# standby. Later starts find the copy and go on streaming from where they stopped.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_basebackup --host=postgres --username="$POSTGRES_USER" --pgdata="$PGDATA" \
      --write-recovery-conf --wal-method=stream --checkpoint=fast; do
    echo "waiting for the primary" >&2
    rm -rf "${PGDATA:?}"/*
    sleep 2
  done
  chmod 700 "$PGDATA"
fi
exec postgres -c hot_standby=on
