"""Index customers by last order

The lifecycle and RFM read models take each customer's stored order statistics
unless the customer bought after the as-of instant; this index finds those few (as
of now, none) without reading every customer.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 10:32:49.459298
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0008'
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index("ix_customers_last_order_at", ["last_order_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index("ix_customers_last_order_at")
