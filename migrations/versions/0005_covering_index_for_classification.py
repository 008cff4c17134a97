"""Covering index for the lifecycle and RFM aggregates

The read models aggregate every counted order per customer; with amount and
refunded_amount in the index, both databases read the index alone, in customer
order. It replaces (customer_id, placed_at), which it serves as well.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 09:46:57.173612
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_customer_id_placed_at"))
        batch_op.create_index(
            "ix_orders_customer_id_placed_at_amounts",
            ["customer_id", "placed_at", "amount", "refunded_amount"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_customer_id_placed_at_amounts")
        batch_op.create_index(
            batch_op.f("ix_orders_customer_id_placed_at"), ["customer_id", "placed_at"], unique=False
        )
