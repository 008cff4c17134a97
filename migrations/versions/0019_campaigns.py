"""campaigns, their frozen audiences, touchpoints and order attributions

A campaign keeps its variants as one JSON list; its audience is frozen at the start
(campaign_audience, the arm of each member); touchpoints are unique per
idempotency_key; an order's attribution is one row decided when it is recorded.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 04:15:17.244006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import persistence.base

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('campaigns',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('segment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('variants', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('holdout_share', sa.Numeric(precision=5, scale=4), nullable=False),
    sa.Column('attribution_days', sa.Integer(), nullable=False),
    sa.Column('starts_at', persistence.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', persistence.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('started_at', persistence.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('holdout_ends_at', persistence.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('archived_at', persistence.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', persistence.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', persistence.base.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns'))
    )
    op.create_table('campaign_audience',
    sa.Column('campaign_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('arm', sa.String(length=50), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_audience_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('campaign_id', 'customer_id', name=op.f('pk_campaign_audience'))
    )
    op.create_table('campaign_touchpoints',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('campaign_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('variant', sa.String(length=50), nullable=False),
    sa.Column('event', sa.String(length=16), nullable=False),
    sa.Column('at', persistence.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('idempotency_key', sa.String(length=128), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('recorded_at', persistence.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('flag', sa.String(length=32), nullable=True),
    sa.Column('window_ends_at', persistence.base.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_touchpoints_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_campaign_touchpoints_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_touchpoints')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_campaign_touchpoints_idempotency_key'))
    )
    with op.batch_alter_table('campaign_touchpoints', schema=None) as batch_op:
        batch_op.create_index('ix_campaign_touchpoints_campaign_customer', ['campaign_id', 'customer_id'], unique=False)
        batch_op.create_index('ix_campaign_touchpoints_customer_event_at', ['customer_id', 'event', 'at'], unique=False)

    op.create_table('order_attributions',
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('campaign_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('arm', sa.String(length=50), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_order_attributions_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_attributions_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('order_id', name=op.f('pk_order_attributions'))
    )
    with op.batch_alter_table('order_attributions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_attributions_campaign_id'), ['campaign_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('order_attributions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_attributions_campaign_id'))

    op.drop_table('order_attributions')
    with op.batch_alter_table('campaign_touchpoints', schema=None) as batch_op:
        batch_op.drop_index('ix_campaign_touchpoints_customer_event_at')
        batch_op.drop_index('ix_campaign_touchpoints_campaign_customer')

    op.drop_table('campaign_touchpoints')
    op.drop_table('campaign_audience')
    op.drop_table('campaigns')
