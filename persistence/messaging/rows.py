"""The messaging tables: templates, consents, queued messages and their outcomes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from persistence.base import Base, BigId, UtcDateTime
from persistence.types import JsonDocument


class MessageTemplateRow(Base):
    __tablename__ = "message_templates"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str | None] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    # WeChat: the subscribe-message template id; SMS: the provider's template id.
    provider_template_id: Mapped[str | None] = mapped_column(String(128))
    page: Mapped[str | None] = mapped_column(String(500))
    # WeChat: {data key: Jinja text}; SMS: [Jinja text, …] (the template's parameters).
    fields: Mapped[Any] = mapped_column(JsonDocument)
    archived_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ConsentRow(Base):
    """A customer's current consent on one channel (PIPL: what, how and when)."""

    __tablename__ = "customer_consents"

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    granted: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class MessageRow(Base):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"))
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    template_ids: Mapped[list[int]] = mapped_column(JsonDocument)
    campaign_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("campaigns.id"))
    variant: Mapped[str | None] = mapped_column(String(50))
    variables: Mapped[dict[str, str]] = mapped_column(JsonDocument)
    marketing: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16))
    template_index: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    channel: Mapped[str | None] = mapped_column(String(16))
    template_id: Mapped[int | None] = mapped_column(BigId)
    provider_message_id: Mapped[str | None] = mapped_column(String(128))
    reason: Mapped[str | None] = mapped_column(String(500))
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    locked_by: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (
        Index("ix_messages_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_messages_customer_id_id", "customer_id", "id"),
        Index("ix_messages_channel_provider_message_id", "channel", "provider_message_id"),
    )


class MessageOutcomeRow(Base):
    __tablename__ = "message_outcomes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(BigId, ForeignKey("messages.id"))
    customer_id: Mapped[int] = mapped_column(BigId)
    outcome: Mapped[str] = mapped_column(String(32))
    marketing: Mapped[bool] = mapped_column(Boolean)
    channel: Mapped[str | None] = mapped_column(String(16))
    template_id: Mapped[int | None] = mapped_column(BigId)
    reason: Mapped[str | None] = mapped_column(String(500))
    at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        Index("ix_message_outcomes_message_id_id", "message_id", "id"),
        # The frequency cap: a customer's marketing SENTs by time.
        Index("ix_message_outcomes_customer_outcome_at", "customer_id", "outcome", "at"),
        # The per-channel send rate: a channel's SENTs of the last minute.
        Index("ix_message_outcomes_channel_outcome_at", "channel", "outcome", "at"),
    )
