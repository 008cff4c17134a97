"""customer identities: the further ids a customer is known by (WeChat, POS, marketplaces)

One row per (type, namespace, value), unique; the storefront's external_id stays on
the customer row. See persistence/identities.py.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 03:37:28.502283
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import persistence.base

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('customer_identities',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('namespace', sa.String(length=64), server_default='', nullable=False),
    sa.Column('value', sa.String(length=256), nullable=False),
    sa.Column('created_at', persistence.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_customer_identities_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_identities')),
    sa.UniqueConstraint('type', 'namespace', 'value', name=op.f('uq_customer_identities_type'))
    )
    with op.batch_alter_table('customer_identities', schema=None) as batch_op:
        batch_op.create_index('ix_customer_identities_customer_id', ['customer_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('customer_identities', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_identities_customer_id')

    op.drop_table('customer_identities')
