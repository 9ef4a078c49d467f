"""compensation runs: plans, their applied and refused lines; journal reasons as codes

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 10:00:00.000000

A compensation plan (`flask compensation plan`) is recorded with the SHA-256 of its file and
its parameters; applying it records one line per account, applied or refused. The journal
gains a reason code and its parameters, so that reasons the app writes itself are shown to the
customer in their language; the existing `reason` text stays, and rows written before this
revision (code NULL) are shown as written. Adding nullable columns is a plain ALTER TABLE on
both databases, so the journal's append-only triggers are untouched.
"""
from alembic import op
import sqlalchemy as sa
import dashboard.types

# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("journal_entries", sa.Column("reason_code", sa.String(length=40), nullable=True))
    op.add_column("journal_entries", sa.Column("reason_params", sa.JSON(), nullable=True))

    op.create_table(
        "compensation_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identity", sa.String(length=36), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("currency_code", sa.String(length=10), nullable=False),
        sa.Column("rate", dashboard.types.ExactDecimal(), nullable=False),
        sa.Column("snapshot_at", dashboard.types.UtcDateTime(), nullable=False),
        sa.Column("rounding", sa.String(length=10), nullable=False),
        sa.Column("holders", sa.Integer(), nullable=False),
        sa.Column("total_quantity", dashboard.types.ExactDecimal(), nullable=False),
        sa.Column("total_jpy", dashboard.types.ExactDecimal(), nullable=False),
        sa.Column("rounded_away", dashboard.types.ExactDecimal(), nullable=False),
        sa.Column("created_at", dashboard.types.UtcDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.CheckConstraint("rounding IN ('down', 'half-up')", name="compensation_rounding_known"),
        sa.CheckConstraint("holders >= 0", name="compensation_holders_not_negative"),
        sa.ForeignKeyConstraint(["currency_code"], ["currencies.code"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("identity"),
        sa.UniqueConstraint("digest"),
    )
    op.create_table(
        "compensation_lines",
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("quantity", dashboard.types.ExactDecimal(), nullable=False),
        sa.Column("jpy", dashboard.types.ExactDecimal(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=True),
        sa.Column("recorded_at", dashboard.types.UtcDateTime(), nullable=False),
        sa.CheckConstraint("status IN ('applied', 'refused')", name="compensation_line_status_known"),
        sa.ForeignKeyConstraint(["plan_id"], ["compensation_plans.id"]),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("plan_id", "account_id"),
    )


def downgrade():
    op.drop_table("compensation_lines")
    op.drop_table("compensation_plans")
    # SQLite 3.35+ drops a column in place; batch mode would rebuild the table without its
    # append-only triggers.
    op.drop_column("journal_entries", "reason_params")
    op.drop_column("journal_entries", "reason_code")
