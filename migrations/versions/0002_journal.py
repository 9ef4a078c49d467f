"""journal: an append-only record of every balance change

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 08:38:07.177027

"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa
import dashboard.types

# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


# Row triggers refuse UPDATE and DELETE whoever asks; TRUNCATE (an operator's deliberate
# act, and how the tests empty tables on PostgreSQL) is not a row event and is not blocked.
APPEND_ONLY = {
    'postgresql': [
        """CREATE FUNCTION journal_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'journal_entries is append-only: % refused', TG_OP;
        END $$""",
        """CREATE TRIGGER journal_entries_append_only BEFORE UPDATE OR DELETE ON journal_entries
        FOR EACH ROW EXECUTE FUNCTION journal_entries_append_only()""",
    ],
    'sqlite': [
        """CREATE TRIGGER journal_entries_no_update BEFORE UPDATE ON journal_entries
        BEGIN SELECT RAISE(ABORT, 'journal_entries is append-only: UPDATE refused'); END""",
        """CREATE TRIGGER journal_entries_no_delete BEFORE DELETE ON journal_entries
        BEGIN SELECT RAISE(ABORT, 'journal_entries is append-only: DELETE refused'); END""",
    ],
}


def upgrade():
    op.create_table('journal_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('currency_code', sa.String(length=10), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('available_before', dashboard.types.ExactDecimal(), nullable=False),
    sa.Column('in_use_before', dashboard.types.ExactDecimal(), nullable=False),
    sa.Column('available_after', dashboard.types.ExactDecimal(), nullable=False),
    sa.Column('in_use_after', dashboard.types.ExactDecimal(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('effective_at', dashboard.types.UtcDateTime(), nullable=False),
    sa.Column('recorded_at', dashboard.types.UtcDateTime(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=100), nullable=True),
    sa.CheckConstraint('available_after >= 0', name='journal_available_after_not_negative'),
    sa.CheckConstraint('available_before >= 0', name='journal_available_before_not_negative'),
    sa.CheckConstraint('in_use_after >= 0', name='journal_in_use_after_not_negative'),
    sa.CheckConstraint('in_use_before >= 0', name='journal_in_use_before_not_negative'),
    sa.CheckConstraint('sequence >= 1', name='journal_sequence_positive'),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.ForeignKeyConstraint(['currency_code'], ['currencies.code'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account_id', 'currency_code', 'sequence', name='journal_sequence_unique'),
    sa.UniqueConstraint('idempotency_key')
    )
    for statement in APPEND_ONLY[op.get_bind().dialect.name]:
        op.execute(statement)
    open_existing_balances()


def open_existing_balances():
    """Balances set before the journal existed get an opening entry, so every balance equals
    its journal's last 'after' from this revision on."""
    balances = sa.table('balances', sa.column('account_id', sa.Integer), sa.column('currency_code', sa.String),
                        sa.column('available', dashboard.types.ExactDecimal()),
                        sa.column('in_use', dashboard.types.ExactDecimal()))
    journal = sa.table('journal_entries', *(sa.column(name, type_) for name, type_ in [
        ('account_id', sa.Integer), ('currency_code', sa.String), ('sequence', sa.Integer),
        ('available_before', dashboard.types.ExactDecimal()), ('in_use_before', dashboard.types.ExactDecimal()),
        ('available_after', dashboard.types.ExactDecimal()), ('in_use_after', dashboard.types.ExactDecimal()),
        ('reason', sa.String), ('source', sa.String),
        ('effective_at', dashboard.types.UtcDateTime()), ('recorded_at', dashboard.types.UtcDateTime())]))
    now = datetime.now(timezone.utc)
    rows = [
        {'account_id': account_id, 'currency_code': code, 'sequence': 1,
         'available_before': 0, 'in_use_before': 0, 'available_after': available, 'in_use_after': in_use,
         'reason': 'opening balance', 'source': 'migration 0002', 'effective_at': now, 'recorded_at': now}
        for account_id, code, available, in_use in op.get_bind().execute(sa.select(balances))
        if available or in_use
    ]
    if rows:
        op.bulk_insert(journal, rows)


def downgrade():
    op.drop_table('journal_entries')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP FUNCTION journal_entries_append_only()')
