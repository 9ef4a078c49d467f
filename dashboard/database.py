"""Database behaviour the schema relies on: SQLite enforces foreign keys only when asked, and
lets readers and a writer work side by side only in write-ahead-log mode; on PostgreSQL a
request's statements are bounded in time, an operator command's are not."""
import functools

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url


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


# PostgreSQL: every statement of a request is bounded by DATABASE_STATEMENT_TIMEOUT_MS, set once per
# connection in its start-up options (no round trip per request). A statement stalled by a lock
# is cancelled, the request answers 503 (errors.py) and the worker is free again. Operator
# commands (a migration, `balances verify` over every account) may rightly run longer: they lift it.
STATEMENT_TIMEOUT_LIFTED = "dashboard_statement_timeout_lifted"


def statement_timeout_connect_args(url: str, connect_args: dict, milliseconds: int) -> dict:
    """connect_args with `-c statement_timeout=…` added to the connection's options, after the
    URL's own (a search_path, say), which an `options` of connect_args would otherwise replace."""
    if not milliseconds:
        return connect_args
    given = connect_args.get("options")
    if given is None:
        given = make_url(url).query.get("options") or ""
        if not isinstance(given, str):  # the option named twice in the URL: libpq would take the last
            given = given[-1]
    return {**connect_args, "options": f"{given} -c statement_timeout={int(milliseconds)}".strip()}


def unbounded_for_commands(app, engines) -> None:
    """Once lift_statement_timeout(app) has been called, each new PostgreSQL connection of these
    engines sets statement_timeout back to 0 before its first use."""
    # Behind PgBouncer in transaction mode the timeout is the role's, and a SET would stay on
    # the server connection PgBouncer hands to the app's requests next: commands keep the role's.
    if not app.config.get("DATABASE_STATEMENT_TIMEOUT_MS") or app.config.get("DATABASE_PGBOUNCER"):
        return
    for engine in engines:
        if engine.dialect.name == "postgresql":
            event.listen(engine, "connect", functools.partial(_lift_if_asked, app))


def lift_statement_timeout(app) -> None:
    """For an operator command: its connections run statements as long as they take."""
    app.extensions[STATEMENT_TIMEOUT_LIFTED] = True


def _lift_if_asked(app, dbapi_connection, connection_record) -> None:
    if app.extensions.get(STATEMENT_TIMEOUT_LIFTED):
        dbapi_connection.execute("SET statement_timeout = 0")
        if not dbapi_connection.autocommit:
            dbapi_connection.commit()
