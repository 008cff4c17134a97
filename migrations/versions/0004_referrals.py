"""referrals, and expiry notices on lots

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


import persistence.base

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('referrals',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('referrer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('recorded_at', persistence.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('qualified_at', persistence.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('reversed_at', persistence.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('qualifying_order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('referrer_bonus', sa.Integer(), nullable=False),
    sa.Column('referee_bonus', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=128), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_referrals_customer_id_customers')),
    sa.ForeignKeyConstraint(['referrer_id'], ['customers.id'], name=op.f('fk_referrals_referrer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referrals')),
    sa.UniqueConstraint('customer_id', name=op.f('uq_referrals_customer_id'))
    )
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.create_index('ix_referrals_referrer_id_qualified_at', ['referrer_id', 'qualified_at'], unique=False)
        batch_op.create_index('ix_referrals_status_id', ['status', 'id'], unique=False)

    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('referral_code', sa.String(length=16), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_customers_referral_code'), ['referral_code'])

    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('referral_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))

    with op.batch_alter_table('point_lots', schema=None) as batch_op:
        batch_op.add_column(sa.Column('referral_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.add_column(sa.Column('expiry_notified_at', persistence.base.UtcDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_point_lots_referral_id'), ['referral_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('point_lots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_point_lots_referral_id'))
        batch_op.drop_column('expiry_notified_at')
        batch_op.drop_column('referral_id')

    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_column('referral_id')

    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_customers_referral_code'), type_='unique')
        batch_op.drop_column('referral_code')

    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index('ix_referrals_status_id')
        batch_op.drop_index('ix_referrals_referrer_id_qualified_at')

    op.drop_table('referrals')
