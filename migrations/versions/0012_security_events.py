"""security events: sign-ins and changes to how an account signs in, for the Security page

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 07:30:00.000000

"""
from alembic import op
import sqlalchemy as sa
import dashboard.types

# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('security_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('at', dashboard.types.UtcDateTime(), nullable=False),
    sa.Column('user_agent', sa.String(length=200), server_default='', nullable=False),
    sa.Column('address', sa.String(length=45), server_default='', nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('security_events', schema=None) as batch_op:
        batch_op.create_index('ix_security_events_account_at', ['account_id', 'at'], unique=False)
        batch_op.create_index('ix_security_events_at', ['at'], unique=False)  # the purge's


def downgrade():
    with op.batch_alter_table('security_events', schema=None) as batch_op:
        batch_op.drop_index('ix_security_events_at')
        batch_op.drop_index('ix_security_events_account_at')
    op.drop_table('security_events')
