"""Database behaviour the schema relies on: SQLite enforces foreign keys only when asked, and
lets readers and a writer work side by side only in write-ahead-log mode."""
from sqlalchemy import event
from sqlalchemy.engine import Engine


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    module = type(dbapi_connection).__module__
    if module.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        # WAL: a page being read does not wait for `rates refresh` committing, nor the other way
        # round (the default rollback journal locks the whole file for each commit). Kept in the
        # file once set; an in-memory database answers "memory" and is unchanged.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()
