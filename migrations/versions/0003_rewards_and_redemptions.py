"""rewards and redemptions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import persistence.base

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('rewards',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.String(length=2000), nullable=True),
    sa.Column('points_cost', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('value', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('stock', sa.Integer(), nullable=True),
    sa.Column('limit_per_customer', sa.Integer(), nullable=True),
    sa.Column('lowest_tier_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('active_from', persistence.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('active_until', persistence.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('archived_at', persistence.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', persistence.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', persistence.base.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('stock IS NULL OR stock >= 0', name=op.f('ck_rewards_stock_not_negative')),
    sa.ForeignKeyConstraint(['lowest_tier_id'], ['tiers.id'], name=op.f('fk_rewards_lowest_tier_id_tiers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rewards'))
    )
    with op.batch_alter_table('rewards', schema=None) as batch_op:
        batch_op.create_index('ix_rewards_points_cost_id', ['points_cost', 'id'], unique=False)

    op.create_table('redemptions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reward_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('points_spent', sa.Integer(), nullable=False),
    sa.Column('api_key_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('issued_at', persistence.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('used_at', persistence.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', persistence.base.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_redemptions_customer_id_customers')),
    sa.ForeignKeyConstraint(['reward_id'], ['rewards.id'], name=op.f('fk_redemptions_reward_id_rewards')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_redemptions')),
    sa.UniqueConstraint('code', name=op.f('uq_redemptions_code'))
    )
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.create_index('ix_redemptions_customer_id_id', ['customer_id', 'id'], unique=False)
        batch_op.create_index('ix_redemptions_customer_id_reward_id', ['customer_id', 'reward_id'], unique=False)

    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('redemption_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.create_index(batch_op.f('ix_ledger_entries_redemption_id'), ['redemption_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_ledger_entries_redemption_id_redemptions'), 'redemptions', ['redemption_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_ledger_entries_redemption_id_redemptions'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_ledger_entries_redemption_id'))
        batch_op.drop_column('redemption_id')

    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.drop_index('ix_redemptions_customer_id_reward_id')
        batch_op.drop_index('ix_redemptions_customer_id_id')

    op.drop_table('redemptions')
    with op.batch_alter_table('rewards', schema=None) as batch_op:
        batch_op.drop_index('ix_rewards_points_cost_id')

    op.drop_table('rewards')
