"""notify listeners of every change to what the signed-in pages cache (PostgreSQL only)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 11:00:00.000000

Each app process keeps recently read sign-in sessions and wallets in memory and drops them
when it hears of a change (dashboard/change_feed.py). The database itself tells it, so every
writer is covered: this app, its CLI, another service, an operator's SQL. The payload is
'<schema>:<table>:<account id>', or '<schema>:<table>:*' when the change is not one account's
(rates, currencies, TRUNCATE). PostgreSQL sends notifications only when the transaction
commits, and sends a payload once per transaction however many rows repeat it.

SQLite has no LISTEN/NOTIFY; there the app does not cache and nothing is needed.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

CHANNEL = "dashboard_changes"

# (table, the column naming the account, or None when a change concerns every account)
WATCHED = [
    ("accounts", "id"),
    ("login_sessions", "account_id"),
    ("balances", "account_id"),
    ("rates", None),
    ("currencies", None),
]


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"""CREATE FUNCTION dashboard_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            prefix text := TG_TABLE_SCHEMA || ':' || TG_TABLE_NAME || ':';
        BEGIN
            IF TG_LEVEL = 'STATEMENT' THEN
                PERFORM pg_notify('{CHANNEL}', prefix || '*');
                RETURN NULL;
            END IF;
            -- The account column is named by the trigger's argument; read through jsonb so one
            -- function serves tables whose columns differ.
            IF TG_OP IN ('UPDATE', 'DELETE') THEN
                PERFORM pg_notify('{CHANNEL}', prefix || (to_jsonb(OLD) ->> TG_ARGV[0]));
            END IF;
            IF TG_OP IN ('INSERT', 'UPDATE') THEN
                PERFORM pg_notify('{CHANNEL}', prefix || (to_jsonb(NEW) ->> TG_ARGV[0]));
            END IF;
            RETURN NULL;
        END $$"""
    )
    for table, account_column in WATCHED:
        if account_column:
            op.execute(
                f"""CREATE TRIGGER {table}_notify_change AFTER INSERT OR UPDATE OR DELETE ON {table}
                FOR EACH ROW EXECUTE FUNCTION dashboard_notify_change('{account_column}')"""
            )
        else:
            op.execute(
                f"""CREATE TRIGGER {table}_notify_change AFTER INSERT OR UPDATE OR DELETE ON {table}
                FOR EACH STATEMENT EXECUTE FUNCTION dashboard_notify_change()"""
            )
        op.execute(
            f"""CREATE TRIGGER {table}_notify_truncate AFTER TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION dashboard_notify_change()"""
        )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, _account_column in WATCHED:
        op.execute(f"DROP TRIGGER {table}_notify_truncate ON {table}")
        op.execute(f"DROP TRIGGER {table}_notify_change ON {table}")
    op.execute("DROP FUNCTION dashboard_notify_change()")
