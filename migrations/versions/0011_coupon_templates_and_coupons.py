"""coupon templates, coupons, reward kind COUPON, coupon program settings

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import persistence.base

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('coupon_templates',
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.String(length=2000), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('amount_off', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('percent_off', sa.Numeric(precision=5, scale=2), nullable=True),
    sa.Column('max_discount', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('min_spend', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('product_sku', sa.String(length=128), nullable=True),
    sa.Column('audience', sa.String(length=16), nullable=False),
    sa.Column('audience_tier_id', BIG_ID, nullable=True),
    sa.Column('audience_segment_id', BIG_ID, nullable=True),
    sa.Column('valid_from', persistence.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('valid_until', persistence.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('valid_days', sa.Integer(), nullable=True),
    sa.Column('per_customer_limit', sa.Integer(), nullable=True),
    sa.Column('total_limit', sa.Integer(), nullable=True),
    sa.Column('issued_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('stackable', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('archived_at', persistence.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', persistence.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', persistence.base.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('total_limit IS NULL OR issued_count <= total_limit', name=op.f('ck_coupon_templates_issued_within_limit')),
    sa.ForeignKeyConstraint(['audience_tier_id'], ['tiers.id'], name=op.f('fk_coupon_templates_audience_tier_id_tiers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coupon_templates'))
    )
    op.create_table('coupons',
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('customer_id', BIG_ID, nullable=False),
    sa.Column('template_id', BIG_ID, nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('valid_from', persistence.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('valid_until', persistence.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('issued_at', persistence.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('used_at', persistence.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('order_external_id', sa.String(length=128), nullable=True),
    sa.Column('redemption_id', BIG_ID, nullable=True),
    sa.Column('expiry_notice_at', persistence.base.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_coupons_customer_id_customers')),
    sa.ForeignKeyConstraint(['template_id'], ['coupon_templates.id'], name=op.f('fk_coupons_template_id_coupon_templates')),
    sa.ForeignKeyConstraint(['redemption_id'], ['redemptions.id'], name=op.f('fk_coupons_redemption_id_redemptions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coupons')),
    sa.UniqueConstraint('code', name=op.f('uq_coupons_code'))
    )
    with op.batch_alter_table('coupons', schema=None) as batch_op:
        batch_op.create_index('ix_coupons_customer_id_id', ['customer_id', 'id'], unique=False)
        batch_op.create_index('ix_coupons_template_id_customer_id', ['template_id', 'customer_id'], unique=False)
        batch_op.create_index('ix_coupons_status_valid_until', ['status', 'valid_until'], unique=False)
        batch_op.create_index('ix_coupons_order_external_id', ['order_external_id'], unique=False)
        batch_op.create_index('ix_coupons_template_id_issued_at', ['template_id', 'issued_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_coupons_redemption_id'), ['redemption_id'], unique=False)

    with op.batch_alter_table('rewards', schema=None) as batch_op:
        batch_op.add_column(sa.Column('coupon_template_id', BIG_ID, nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_rewards_coupon_template_id_coupon_templates'), 'coupon_templates', ['coupon_template_id'], ['id'])

    with op.batch_alter_table('program_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('coupon_expiring_soon_days', sa.Integer(), server_default='3', nullable=False))
        batch_op.add_column(sa.Column('coupon_restore_on_refund', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('program_settings', schema=None) as batch_op:
        batch_op.drop_column('coupon_restore_on_refund')
        batch_op.drop_column('coupon_expiring_soon_days')

    with op.batch_alter_table('rewards', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_rewards_coupon_template_id_coupon_templates'), type_='foreignkey')
        batch_op.drop_column('coupon_template_id')

    with op.batch_alter_table('coupons', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_coupons_redemption_id'))
        batch_op.drop_index('ix_coupons_template_id_issued_at')
        batch_op.drop_index('ix_coupons_order_external_id')
        batch_op.drop_index('ix_coupons_status_valid_until')
        batch_op.drop_index('ix_coupons_template_id_customer_id')
        batch_op.drop_index('ix_coupons_customer_id_id')

    op.drop_table('coupons')
    op.drop_table('coupon_templates')
