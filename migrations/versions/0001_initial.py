"""accounts, sessions, currencies, balances and rates

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 08:30:58.343390

"""
from alembic import op
import sqlalchemy as sa
import dashboard.types
from dashboard.core.currencies import currency_rows

# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('password_hash', sa.String(length=256), nullable=False),
    sa.Column('preferred_language', sa.String(length=2), nullable=True),
    sa.Column('never_prompt_language', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('show_net_assets_in_header', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('created_at', dashboard.types.UtcDateTime(), nullable=False),
    sa.CheckConstraint('email = lower(email)', name='email_lower_case'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('email')
    )
    op.create_table('currencies',
    sa.Column('code', sa.String(length=10), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('decimals', sa.Integer(), nullable=False),
    sa.Column('display_order', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.CheckConstraint('code = lower(code)', name='code_lower_case'),
    sa.CheckConstraint('decimals >= 0 AND decimals <= 18', name='decimals_range'),
    sa.PrimaryKeyConstraint('code')
    )
    # The currencies the exchange handled in 2018 are reference data every install needs.
    op.bulk_insert(sa.table('currencies', sa.column('code', sa.String), sa.column('name', sa.String),
                            sa.column('decimals', sa.Integer), sa.column('display_order', sa.Integer),
                            sa.column('enabled', sa.Boolean)),
                   currency_rows())
    op.create_table('balances',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('currency_code', sa.String(length=10), nullable=False),
    sa.Column('available', dashboard.types.ExactDecimal(), nullable=False),
    sa.Column('in_use', dashboard.types.ExactDecimal(), nullable=False),
    sa.CheckConstraint('available >= 0', name='available_not_negative'),
    sa.CheckConstraint('in_use >= 0', name='in_use_not_negative'),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['currency_code'], ['currencies.code'], ),
    sa.PrimaryKeyConstraint('account_id', 'currency_code')
    )
    op.create_table('login_sessions',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('created_at', dashboard.types.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash')
    )
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_sessions_account_id'), ['account_id'], unique=False)

    op.create_table('rates',
    sa.Column('currency_code', sa.String(length=10), nullable=False),
    sa.Column('jpy_rate', dashboard.types.ExactDecimal(), nullable=False),
    sa.Column('as_of', dashboard.types.UtcDateTime(), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.CheckConstraint('jpy_rate > 0', name='rate_positive'),
    sa.ForeignKeyConstraint(['currency_code'], ['currencies.code'], ),
    sa.PrimaryKeyConstraint('currency_code')
    )


def downgrade():
    op.drop_table('rates')
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_sessions_account_id'))

    op.drop_table('login_sessions')
    op.drop_table('balances')
    op.drop_table('currencies')
    op.drop_table('accounts')
