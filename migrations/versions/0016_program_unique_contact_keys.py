"""program setting unique_contact_keys: a phone or e-mail belongs to one live customer

Off by default (the behaviour before); when on, customerUpsert and customerUpdate
refuse a phone or e-mail another customer (not erased) has. See docs/identities.md.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 03:42:09.324297
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('program_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unique_contact_keys', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('program_settings', schema=None) as batch_op:
        batch_op.drop_column('unique_contact_keys')
