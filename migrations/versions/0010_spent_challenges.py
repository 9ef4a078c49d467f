"""passkey challenges remembered once answered, so a replayed cookie cannot answer one again

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 07:00:00.000000

"""
from alembic import op
import sqlalchemy as sa
import dashboard.types

# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('spent_challenges',
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('expires_at', dashboard.types.UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('digest')
    )
    with op.batch_alter_table('spent_challenges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_spent_challenges_expires_at'), ['expires_at'], unique=False)


def downgrade():
    with op.batch_alter_table('spent_challenges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_spent_challenges_expires_at'))
    op.drop_table('spent_challenges')
