"""trades and transfers: the exchange's fills and moves of crypto-assets; accounts.cost_method

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 16:00:00.000000

Each fill and each transfer is recorded once (unique trade_id / transfer_id) beside the journal
entries it wrote, so acquisition cost and the annual report can be computed from them
(dashboard/core/cost_basis.py). The account's method of acquisition cost defaults to the total
average, the NTA's default.
"""
from alembic import op
import sqlalchemy as sa
import dashboard.types

# revision identifiers, used by Alembic.
revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cost_method", sa.String(length=20), server_default="total-average", nullable=False))
        batch_op.create_check_constraint("cost_method_known", "cost_method IN ('total-average', 'moving-average')")

    op.create_table(
        "trades",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trade_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("currency_code", sa.String(length=10), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("quantity", dashboard.types.ExactDecimal(), nullable=False),
        sa.Column("price", dashboard.types.ExactDecimal(), nullable=False),
        sa.Column("fee", dashboard.types.ExactDecimal(), nullable=False),
        sa.Column("fee_currency", sa.String(length=10), nullable=False),
        sa.Column("jpy", dashboard.types.ExactDecimal(), nullable=False),
        sa.Column("executed_at", dashboard.types.UtcDateTime(), nullable=False),
        sa.Column("recorded_at", dashboard.types.UtcDateTime(), nullable=False),
        sa.CheckConstraint("side IN ('buy', 'sell')", name="trade_side_known"),
        sa.CheckConstraint("quantity > 0", name="trade_quantity_positive"),
        sa.CheckConstraint("price > 0", name="trade_price_positive"),
        sa.CheckConstraint("fee >= 0", name="trade_fee_not_negative"),
        sa.CheckConstraint("jpy >= 0", name="trade_jpy_not_negative"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.ForeignKeyConstraint(["currency_code"], ["currencies.code"]),
        sa.ForeignKeyConstraint(["fee_currency"], ["currencies.code"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("trade_id"),
    )
    op.create_index("trades_account_executed", "trades", ["account_id", "executed_at", "id"])
    op.create_table(
        "transfers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("transfer_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("currency_code", sa.String(length=10), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("quantity", dashboard.types.ExactDecimal(), nullable=False),
        sa.Column("at", dashboard.types.UtcDateTime(), nullable=False),
        sa.Column("recorded_at", dashboard.types.UtcDateTime(), nullable=False),
        sa.CheckConstraint("direction IN ('in', 'out')", name="transfer_direction_known"),
        sa.CheckConstraint("quantity > 0", name="transfer_quantity_positive"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.ForeignKeyConstraint(["currency_code"], ["currencies.code"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("transfer_id"),
    )
    op.create_index("transfers_account_at", "transfers", ["account_id", "at", "id"])


def downgrade():
    op.drop_index("transfers_account_at", table_name="transfers")
    op.drop_table("transfers")
    op.drop_index("trades_account_executed", table_name="trades")
    op.drop_table("trades")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_constraint("cost_method_known", type_="check")
        batch_op.drop_column("cost_method")
