"""one notification per statement and account, or one for every account past a limit (PostgreSQL only)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 07:00:00.000000

Migration 0004 notified every changed row of accounts, sign-in sessions and balances, each as
its own trigger call turning the row into JSON. PostgreSQL folds identical payloads of one
transaction into one, but a statement that changes many accounts' balances (a compensation run,
a balance import) still sent a notification per account, and every app process's feed woke for
each one. These triggers run once per statement instead, read the accounts it touched from its
transition tables, and send one notification per account; past NOTIFY_ACCOUNTS accounts, one
'<schema>:<table>:*' instead, which the caches already take as "any account" (read_cache.py).
Transition tables cannot serve a trigger for several events, so there is one per event.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

CHANNEL = "dashboard_changes"
NOTIFY_ACCOUNTS = 1000

# (table, the column naming the account): the tables whose changes are one account's
ROW_TABLES = [("accounts", "id"), ("login_sessions", "account_id"), ("balances", "account_id")]

# event -> the transition tables its trigger names
EVENTS = {
    "insert": "NEW TABLE AS new_rows",
    "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "delete": "OLD TABLE AS old_rows",
}


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"""CREATE FUNCTION dashboard_notify_accounts() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            prefix text := TG_TABLE_SCHEMA || ':' || TG_TABLE_NAME || ':';
            changed text;
            touched text[];
        BEGIN
            -- The account column is named by the trigger's argument, so one function serves
            -- tables whose columns differ; an update may move a row between accounts: both count.
            changed := CASE TG_OP
                WHEN 'INSERT' THEN format('SELECT %1$I::text AS account FROM new_rows', TG_ARGV[0])
                WHEN 'DELETE' THEN format('SELECT %1$I::text AS account FROM old_rows', TG_ARGV[0])
                ELSE format('SELECT %1$I::text AS account FROM old_rows UNION SELECT %1$I::text FROM new_rows', TG_ARGV[0])
            END;
            -- One past the limit is enough to know the limit is passed.
            EXECUTE format('SELECT array_agg(account) FROM (SELECT DISTINCT account FROM (%s) changed LIMIT %s) few',
                           changed, {NOTIFY_ACCOUNTS} + 1) INTO touched;
            IF touched IS NULL THEN
                RETURN NULL;  -- the statement changed no row
            END IF;
            IF cardinality(touched) > {NOTIFY_ACCOUNTS} THEN
                PERFORM pg_notify('{CHANNEL}', prefix || '*');
            ELSE
                FOR i IN 1 .. cardinality(touched) LOOP
                    PERFORM pg_notify('{CHANNEL}', prefix || touched[i]);
                END LOOP;
            END IF;
            RETURN NULL;
        END $$"""
    )
    for table, account_column in ROW_TABLES:
        op.execute(f"DROP TRIGGER {table}_notify_change ON {table}")
        for event, transition in EVENTS.items():
            op.execute(
                f"""CREATE TRIGGER {table}_notify_{event} AFTER {event.upper()} ON {table}
                REFERENCING {transition} FOR EACH STATEMENT EXECUTE FUNCTION dashboard_notify_accounts('{account_column}')"""
            )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, account_column in ROW_TABLES:
        for event in EVENTS:
            op.execute(f"DROP TRIGGER {table}_notify_{event} ON {table}")
        op.execute(
            f"""CREATE TRIGGER {table}_notify_change AFTER INSERT OR UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION dashboard_notify_change('{account_column}')"""
        )
    op.execute("DROP FUNCTION dashboard_notify_accounts()")
