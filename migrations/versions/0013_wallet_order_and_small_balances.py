"""the wallet's order (by value or by name) and its "Hide small balances" switch and threshold

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 16:10:00.000000

Saved on the account like the other switches, so they follow the customer to every browser.
By value (largest first) by default: the biggest holdings lead. The threshold is whole yen,
¥1,000 by default, never negative. The accounts table already announces its changes (0004,
0011), so the read cache drops a session whose choice changed.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("balance_order", sa.String(length=5), server_default="value", nullable=False))
        batch.add_column(sa.Column("hide_small_balances", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("small_balance_jpy", sa.Integer(), server_default="1000", nullable=False))
        batch.create_check_constraint("balance_order_known", "balance_order IN ('value', 'name')")
        batch.create_check_constraint("small_balance_jpy_range", "small_balance_jpy >= 0 AND small_balance_jpy <= 1000000000")


def downgrade():
    with op.batch_alter_table("accounts") as batch:
        batch.drop_constraint("small_balance_jpy_range", type_="check")
        batch.drop_constraint("balance_order_known", type_="check")
        batch.drop_column("small_balance_jpy")
        batch.drop_column("hide_small_balances")
        batch.drop_column("balance_order")
