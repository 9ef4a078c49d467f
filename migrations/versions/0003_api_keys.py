"""api keys and their append-only journal of events

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa
import dashboard.types

# revision identifiers, used by Alembic.
revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


# As for the balance journal (0002): row triggers refuse UPDATE and DELETE whoever asks;
# TRUNCATE, an operator's deliberate act, is not a row event and is not blocked.
APPEND_ONLY = {
    'postgresql': [
        """CREATE FUNCTION api_key_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'api_key_events is append-only: % refused', TG_OP;
        END $$""",
        """CREATE TRIGGER api_key_events_append_only BEFORE UPDATE OR DELETE ON api_key_events
        FOR EACH ROW EXECUTE FUNCTION api_key_events_append_only()""",
    ],
    'sqlite': [
        """CREATE TRIGGER api_key_events_no_update BEFORE UPDATE ON api_key_events
        BEGIN SELECT RAISE(ABORT, 'api_key_events is append-only: UPDATE refused'); END""",
        """CREATE TRIGGER api_key_events_no_delete BEFORE DELETE ON api_key_events
        BEGIN SELECT RAISE(ABORT, 'api_key_events is append-only: DELETE refused'); END""",
    ],
}


def upgrade():
    op.create_table('api_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('access_key', sa.String(length=32), nullable=False),
    sa.Column('encrypted_secret', sa.String(length=255), nullable=False),
    sa.Column('permissions', sa.String(length=255), nullable=False),
    sa.Column('allowed_addresses', sa.Text(), server_default='', nullable=False),
    sa.Column('last_nonce', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('created_at', dashboard.types.UtcDateTime(), nullable=False),
    sa.Column('last_used_at', dashboard.types.UtcDateTime(), nullable=True),
    sa.Column('revoked_at', dashboard.types.UtcDateTime(), nullable=True),
    sa.CheckConstraint('last_nonce >= 0', name='last_nonce_not_negative'),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('access_key')
    )
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_keys_account_id'), ['account_id'], unique=False)

    op.create_table('api_key_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('api_key_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('occurred_at', dashboard.types.UtcDateTime(), nullable=False),
    sa.CheckConstraint("event IN ('created', 'revoked')", name='api_key_event_known'),
    sa.CheckConstraint("source IN ('web', 'cli')", name='api_key_event_source_known'),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.ForeignKeyConstraint(['api_key_id'], ['api_keys.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('api_key_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_key_events_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_api_key_events_api_key_id'), ['api_key_id'], unique=False)

    for statement in APPEND_ONLY[op.get_bind().dialect.name]:
        op.execute(statement)


def downgrade():
    with op.batch_alter_table('api_key_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_key_events_api_key_id'))
        batch_op.drop_index(batch_op.f('ix_api_key_events_account_id'))

    op.drop_table('api_key_events')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP FUNCTION api_key_events_append_only()')
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_keys_account_id'))

    op.drop_table('api_keys')
