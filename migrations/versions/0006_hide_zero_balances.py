"""the account's "Hide zero balances" switch

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-24 09:00:00.000000

Saved on the account like "Show in header", so the choice follows the customer to every
browser. Off by default: a new customer sees every currency the exchange handles. The
accounts table already announces its changes (migration 0004), so the read cache drops a
session whose switch changed.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("hide_zero_balances", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("hide_zero_balances")
