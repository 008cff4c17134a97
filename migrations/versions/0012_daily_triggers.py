"""Daily triggers: pass claims, stored lifecycle stages, repurchase reminders, tracked segments

Tables for domain/daily_triggers.py (persistence/daily.py): one claim per (trigger,
program-local day), each customer's stage at the last pass, the orders a repurchase
reminder was raised for, and tracked segments' membership snapshots.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 22:37:20.480267
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import persistence.base

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('customer_stages',
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('changed_at', persistence.base.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('customer_id', name=op.f('pk_customer_stages'))
    )
    op.create_table('daily_passes',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('local_date', sa.Date(), nullable=False),
    sa.Column('ran_at', persistence.base.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', 'local_date', name=op.f('pk_daily_passes'))
    )
    op.create_table('repurchase_reminders',
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reminded_at', persistence.base.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('order_id', name=op.f('pk_repurchase_reminders'))
    )
    op.create_table('segment_members',
    sa.Column('segment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['segment_id'], ['segments.id'], name=op.f('fk_segment_members_segment_id_segments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('segment_id', 'customer_id', name=op.f('pk_segment_members'))
    )
    with op.batch_alter_table('segments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tracked', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('snapshot_on', sa.Date(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('segments', schema=None) as batch_op:
        batch_op.drop_column('snapshot_on')
        batch_op.drop_column('tracked')

    op.drop_table('segment_members')
    op.drop_table('repurchase_reminders')
    op.drop_table('daily_passes')
    op.drop_table('customer_stages')
