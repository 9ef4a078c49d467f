"""rate history: every rate ever written, its closes per period, and the discreet switch

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 09:00:00.000000

`rate_history` is append-only like the journal (a trigger refuses UPDATE and DELETE on both
databases). `rate_closes` holds, per currency and period length, the rate as of the end of each
period that saw a tick: what the net-asset history reads instead of a year of ticks.
"""
from alembic import op
import sqlalchemy as sa
import dashboard.types

# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

APPEND_ONLY = {
    "postgresql": [
        """CREATE FUNCTION rate_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'rate_history is append-only: % refused', TG_OP;
        END $$""",
        """CREATE TRIGGER rate_history_append_only BEFORE UPDATE OR DELETE ON rate_history
        FOR EACH ROW EXECUTE FUNCTION rate_history_append_only()""",
    ],
    "sqlite": [
        """CREATE TRIGGER rate_history_no_update BEFORE UPDATE ON rate_history
        BEGIN SELECT RAISE(ABORT, 'rate_history is append-only: UPDATE refused'); END""",
        """CREATE TRIGGER rate_history_no_delete BEFORE DELETE ON rate_history
        BEGIN SELECT RAISE(ABORT, 'rate_history is append-only: DELETE refused'); END""",
    ],
}


def upgrade():
    op.create_table(
        "rate_history",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("currency_code", sa.String(length=10), nullable=False),
        sa.Column("jpy_rate", dashboard.types.ExactDecimal(), nullable=False),
        sa.Column("as_of", dashboard.types.UtcDateTime(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", dashboard.types.UtcDateTime(), nullable=False),
        sa.CheckConstraint("jpy_rate > 0", name="rate_history_positive"),
        sa.ForeignKeyConstraint(["currency_code"], ["currencies.code"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("rate_history_currency_as_of", "rate_history", ["currency_code", "as_of", "id"])
    op.create_table(
        "rate_closes",
        sa.Column("currency_code", sa.String(length=10), nullable=False),
        sa.Column("period_seconds", sa.Integer(), nullable=False),
        sa.Column("closes_at", dashboard.types.UtcDateTime(), nullable=False),
        sa.Column("jpy_rate", dashboard.types.ExactDecimal(), nullable=False),
        sa.Column("as_of", dashboard.types.UtcDateTime(), nullable=False),
        sa.CheckConstraint("jpy_rate > 0", name="rate_close_positive"),
        sa.CheckConstraint("period_seconds > 0", name="rate_close_period_positive"),
        sa.ForeignKeyConstraint(["currency_code"], ["currencies.code"]),
        sa.PrimaryKeyConstraint("currency_code", "period_seconds", "closes_at"),
    )
    op.create_index("journal_account_latest", "journal_entries", ["account_id", "id"])
    for statement in APPEND_ONLY[op.get_bind().dialect.name]:
        op.execute(statement)
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("discreet", sa.Boolean(), nullable=False, server_default=sa.false()))
    # Rates already in place start their history, so `rates as-of` knows them from now on.
    start_history()


def start_history():
    """Rates already in place start the history and their closes, so `rates as-of` and the
    charts know them from this revision on."""
    from dashboard.core.history import PERIODS, closes_at

    exact, moment = dashboard.types.ExactDecimal(), dashboard.types.UtcDateTime()
    rates = sa.table("rates", sa.column("currency_code", sa.String), sa.column("jpy_rate", exact),
                     sa.column("as_of", moment), sa.column("source", sa.String))
    history = sa.table("rate_history", sa.column("currency_code", sa.String), sa.column("jpy_rate", exact),
                       sa.column("as_of", moment), sa.column("source", sa.String), sa.column("recorded_at", moment))
    closes = sa.table("rate_closes", sa.column("currency_code", sa.String), sa.column("period_seconds", sa.Integer),
                      sa.column("closes_at", moment), sa.column("jpy_rate", exact), sa.column("as_of", moment))
    current = list(op.get_bind().execute(sa.select(rates)))
    if not current:
        return
    op.bulk_insert(history, [
        {"currency_code": code, "jpy_rate": rate, "as_of": as_of, "source": source, "recorded_at": as_of}
        for code, rate, as_of, source in current
    ])
    op.bulk_insert(closes, [
        {"currency_code": code, "period_seconds": period, "closes_at": closes_at(as_of, period), "jpy_rate": rate, "as_of": as_of}
        for code, rate, as_of, _source in current for period in PERIODS
    ])


def downgrade():
    op.drop_index("journal_account_latest", table_name="journal_entries")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("discreet")
    op.drop_table("rate_closes")
    op.drop_index("rate_history_currency_as_of", table_name="rate_history")
    op.drop_table("rate_history")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION rate_history_append_only()")
