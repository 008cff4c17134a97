"""touchpoints by event and time: the SENTs of a period for 触达转化率 in the metrics

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02 04:44:46.507526
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaign_touchpoints", schema=None) as batch_op:
        batch_op.create_index(
            "ix_campaign_touchpoints_event_at", ["event", "at", "customer_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("campaign_touchpoints", schema=None) as batch_op:
        batch_op.drop_index("ix_campaign_touchpoints_event_at")
