"""messaging: templates, consents, queued messages and their outcomes, send settings

A message is unique per dedupe_key (at most one per key, ever); the worker claims
QUEUED rows by (status, next_attempt_at) with a lease (locked_until, locked_by).
Outcomes are indexed for the frequency cap (customer, outcome, at) and the
per-channel rate (channel, outcome, at). Consent is one row per (customer, channel).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02 06:36:58.224162
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import persistence.base

revision: str = '0022'
down_revision: str | None = '0021'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('message_templates',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('subject', sa.String(length=500), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('html_body', sa.Text(), nullable=True),
    sa.Column('provider_template_id', sa.String(length=128), nullable=True),
    sa.Column('page', sa.String(length=500), nullable=True),
    sa.Column('fields', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('archived_at', persistence.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', persistence.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', persistence.base.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_templates'))
    )
    op.create_table('customer_consents',
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('granted', sa.Boolean(), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('at', persistence.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', persistence.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_customer_consents_customer_id_customers')),
    sa.PrimaryKeyConstraint('customer_id', 'channel', name=op.f('pk_customer_consents'))
    )
    op.create_table('messages',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=False),
    sa.Column('template_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('campaign_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('variant', sa.String(length=50), nullable=True),
    sa.Column('variables', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('marketing', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('template_index', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=True),
    sa.Column('template_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('provider_message_id', sa.String(length=128), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('next_attempt_at', persistence.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('created_at', persistence.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', persistence.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', persistence.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('locked_until', persistence.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('locked_by', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_messages_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_messages_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messages')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_messages_dedupe_key'))
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index('ix_messages_channel_provider_message_id', ['channel', 'provider_message_id'], unique=False)
        batch_op.create_index('ix_messages_customer_id_id', ['customer_id', 'id'], unique=False)
        batch_op.create_index('ix_messages_status_next_attempt_at', ['status', 'next_attempt_at'], unique=False)

    op.create_table('message_outcomes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('message_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('marketing', sa.Boolean(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=True),
    sa.Column('template_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('at', persistence.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_message_outcomes_message_id_messages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_outcomes'))
    )
    with op.batch_alter_table('message_outcomes', schema=None) as batch_op:
        batch_op.create_index('ix_message_outcomes_channel_outcome_at', ['channel', 'outcome', 'at'], unique=False)
        batch_op.create_index('ix_message_outcomes_customer_outcome_at', ['customer_id', 'outcome', 'at'], unique=False)
        batch_op.create_index('ix_message_outcomes_message_id_id', ['message_id', 'id'], unique=False)

    with op.batch_alter_table('program_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message_cap', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('message_cap_days', sa.Integer(), server_default='7', nullable=False))
        batch_op.add_column(sa.Column('sms_quiet_hours', sa.String(length=11), nullable=True))
        batch_op.add_column(sa.Column('email_quiet_hours', sa.String(length=11), nullable=True))
        batch_op.add_column(sa.Column('wechat_quiet_hours', sa.String(length=11), nullable=True))
        batch_op.add_column(sa.Column('webhook_quiet_hours', sa.String(length=11), nullable=True))
        batch_op.add_column(sa.Column('sms_rate_per_minute', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('email_rate_per_minute', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('wechat_rate_per_minute', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('webhook_rate_per_minute', sa.Integer(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('program_settings', schema=None) as batch_op:
        batch_op.drop_column('webhook_rate_per_minute')
        batch_op.drop_column('wechat_rate_per_minute')
        batch_op.drop_column('email_rate_per_minute')
        batch_op.drop_column('sms_rate_per_minute')
        batch_op.drop_column('webhook_quiet_hours')
        batch_op.drop_column('wechat_quiet_hours')
        batch_op.drop_column('email_quiet_hours')
        batch_op.drop_column('sms_quiet_hours')
        batch_op.drop_column('message_cap_days')
        batch_op.drop_column('message_cap')

    with op.batch_alter_table('message_outcomes', schema=None) as batch_op:
        batch_op.drop_index('ix_message_outcomes_message_id_id')
        batch_op.drop_index('ix_message_outcomes_customer_outcome_at')
        batch_op.drop_index('ix_message_outcomes_channel_outcome_at')

    op.drop_table('message_outcomes')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_status_next_attempt_at')
        batch_op.drop_index('ix_messages_customer_id_id')
        batch_op.drop_index('ix_messages_channel_provider_message_id')

    op.drop_table('messages')
    op.drop_table('customer_consents')
    op.drop_table('message_templates')
