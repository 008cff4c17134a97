"""earning rules, each order's points breakdown, activities, and the rule behind a ledger entry

Earning rules are a small shared table whose `budget_used` concurrent orders lock;
an order's breakdown is one line per rule (and one for the base points). Ledger
entries and lots gain a nullable `rule_id` (like `referral_id`, no foreign key: an
added column, no table rebuild on SQLite).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 22:36:50.766944
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import persistence.base

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('earning_rules',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('conditions', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('multiplier', sa.Numeric(precision=10, scale=4), nullable=True),
    sa.Column('points', sa.Integer(), nullable=True),
    sa.Column('per_amount', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('stackable', sa.Boolean(), nullable=False),
    sa.Column('tier_multiplied', sa.Boolean(), nullable=False),
    sa.Column('budget_total', sa.Integer(), nullable=True),
    sa.Column('budget_used', sa.Integer(), nullable=False),
    sa.Column('budget_per_customer', sa.Integer(), nullable=True),
    sa.Column('budget_period', sa.String(length=8), nullable=True),
    sa.Column('activity_type', sa.String(length=64), nullable=True),
    sa.Column('activity_limit_count', sa.Integer(), nullable=True),
    sa.Column('activity_limit_period', sa.String(length=8), nullable=True),
    sa.Column('streak_days', sa.Integer(), nullable=True),
    sa.Column('streak_points', sa.Integer(), nullable=True),
    sa.Column('active_from', persistence.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('active_until', persistence.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('archived_at', persistence.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', persistence.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', persistence.base.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('budget_total IS NULL OR budget_used <= budget_total', name=op.f('ck_earning_rules_budget_not_exceeded')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_earning_rules'))
    )
    op.create_table('order_points_lines',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('rule_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('eligible_amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('placed_at', persistence.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_order_points_lines_customer_id_customers')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_points_lines_order_id_orders')),
    sa.ForeignKeyConstraint(['rule_id'], ['earning_rules.id'], name=op.f('fk_order_points_lines_rule_id_earning_rules')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_points_lines'))
    )
    with op.batch_alter_table('order_points_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_points_lines_order_id'), ['order_id'], unique=False)
        batch_op.create_index('ix_order_points_lines_rule_id_customer_id_placed_at', ['rule_id', 'customer_id', 'placed_at'], unique=False)

    op.create_table('activities',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('type', sa.String(length=64), nullable=False),
    sa.Column('occurred_at', persistence.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('rule_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('streak_days', sa.Integer(), nullable=False),
    sa.Column('attributes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('idempotency_key', sa.String(length=128), nullable=False),
    sa.Column('api_key_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', persistence.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_activities_customer_id_customers')),
    sa.ForeignKeyConstraint(['rule_id'], ['earning_rules.id'], name=op.f('fk_activities_rule_id_earning_rules')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activities'))
    )
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.create_index('ix_activities_customer_id_type_occurred_at', ['customer_id', 'type', 'occurred_at'], unique=False)
        batch_op.create_index('ix_activities_rule_id_customer_id_occurred_at', ['rule_id', 'customer_id', 'occurred_at'], unique=False)

    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rule_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))

    with op.batch_alter_table('point_lots', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rule_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('point_lots', schema=None) as batch_op:
        batch_op.drop_column('rule_id')

    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_column('rule_id')

    with op.batch_alter_table('order_points_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_order_points_lines_rule_id_customer_id_placed_at')
        batch_op.drop_index(batch_op.f('ix_order_points_lines_order_id'))

    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.drop_index('ix_activities_rule_id_customer_id_occurred_at')
        batch_op.drop_index('ix_activities_customer_id_type_occurred_at')

    op.drop_table('activities')
    op.drop_table('order_points_lines')
    op.drop_table('earning_rules')
