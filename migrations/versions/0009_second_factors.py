"""second factors (authenticator app, recovery codes, passkeys) and sessions that end

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa
import dashboard.types

# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    # Existing sessions count as seen when the migration ran: the idle limit then ends them
    # in due course instead of all at once.
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_seen_at', dashboard.types.UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column('user_agent', sa.String(length=200), server_default='', nullable=False))
        batch_op.add_column(sa.Column('address', sa.String(length=45), server_default='', nullable=False))
    op.execute("UPDATE login_sessions SET last_seen_at = created_at")
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.alter_column('last_seen_at', existing_type=dashboard.types.UtcDateTime(), nullable=False)
        batch_op.create_index(batch_op.f('ix_login_sessions_last_seen_at'), ['last_seen_at'], unique=False)

    op.create_table('authenticator_apps',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('encrypted_secret', sa.String(length=255), nullable=False),
    sa.Column('last_used_step', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('created_at', dashboard.types.UtcDateTime(), nullable=False),
    sa.Column('enabled_at', dashboard.types.UtcDateTime(), nullable=True),
    sa.CheckConstraint('last_used_step >= 0', name='last_used_step_not_negative'),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id')
    )
    op.create_table('recovery_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', dashboard.types.UtcDateTime(), nullable=False),
    sa.Column('used_at', dashboard.types.UtcDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code_hash')
    )
    with op.batch_alter_table('recovery_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_codes_account_id'), ['account_id'], unique=False)
    op.create_table('passkeys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('credential_id', sa.String(length=1400), nullable=False),
    sa.Column('public_key', sa.LargeBinary(), nullable=False),
    sa.Column('sign_count', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('created_at', dashboard.types.UtcDateTime(), nullable=False),
    sa.Column('last_used_at', dashboard.types.UtcDateTime(), nullable=True),
    sa.CheckConstraint('sign_count >= 0', name='sign_count_not_negative'),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('credential_id')
    )
    with op.batch_alter_table('passkeys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_passkeys_account_id'), ['account_id'], unique=False)


def downgrade():
    with op.batch_alter_table('passkeys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_passkeys_account_id'))
    op.drop_table('passkeys')
    with op.batch_alter_table('recovery_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recovery_codes_account_id'))
    op.drop_table('recovery_codes')
    op.drop_table('authenticator_apps')
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_sessions_last_seen_at'))
        batch_op.drop_column('address')
        batch_op.drop_column('user_agent')
        batch_op.drop_column('last_seen_at')
