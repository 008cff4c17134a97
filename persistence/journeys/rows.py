"""The journeys' tables: journeys, their runs, and the fan-out cursor."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from persistence.base import Base
from persistence.types import BigId, JsonDocument, UtcDateTime


class JourneyRow(Base):
    __tablename__ = "journeys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    trigger_type: Mapped[str] = mapped_column(String(64))
    trigger_stage: Mapped[str | None] = mapped_column(String(16))
    # No foreign key: a deleted segment leaves a trigger that no event matches.
    trigger_segment_id: Mapped[int | None] = mapped_column(BigId)
    condition: Mapped[str | None] = mapped_column(Text)
    delay_seconds: Mapped[int] = mapped_column(Integer)
    # [{name, weight, actions: [{kind, templateIds, couponTemplateId, points,
    # earningRuleId, tag, marketing}]}], in order; read and written whole.
    variants: Mapped[list[dict[str, Any]]] = mapped_column(JsonDocument)
    holdout_share: Mapped[Decimal] = mapped_column(Numeric(5, 4))
    attribution_days: Mapped[int] = mapped_column(Integer)
    campaign_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("campaigns.id"))
    active_since: Mapped[datetime | None] = mapped_column(UtcDateTime)
    activated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    archived_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_journeys_status_id", "status", "id"),)


class JourneyRunRow(Base):
    """One (journey, customer, triggering event): unique, so it acts at most once."""

    __tablename__ = "journey_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    journey_id: Mapped[int] = mapped_column(BigId, ForeignKey("journeys.id"))
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"))
    event_id: Mapped[int] = mapped_column(BigId)
    event_type: Mapped[str] = mapped_column(String(64))
    arm: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(32))
    # [{index, kind, status, reason, message, detail}]: what each action did.
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JsonDocument)
    attempts: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        UniqueConstraint("journey_id", "customer_id", "event_id"),
        # The worker's claim: waiting runs by due time.
        Index("ix_journey_runs_status_due_at", "status", "due_at"),
        # `Customer.journeyRuns`, newest first.
        Index("ix_journey_runs_customer_id_id", "customer_id", "id"),
        Index("ix_journey_runs_journey_id_id", "journey_id", "id"),
    )


class JourneyCursorRow(Base):
    """The journeys' position in the outbox: one row (id 1), made by the migration."""

    __tablename__ = "journey_cursor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    txid: Mapped[int | None] = mapped_column(BigInteger)
    event_id: Mapped[int | None] = mapped_column(BigInteger)
