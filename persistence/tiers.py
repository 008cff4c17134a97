"""Tiers and each customer's tier history."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from persistence.base import Base
from persistence.types import BigId, UtcDateTime


class TierRow(Base):
    __tablename__ = "tiers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64))
    name_key: Mapped[str] = mapped_column(String(64), unique=True)
    rank: Mapped[int] = mapped_column(Integer, unique=True)
    threshold: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    earn_multiplier: Mapped[Decimal] = mapped_column(Numeric(6, 3))
    benefits: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class TierChangeRow(Base):
    __tablename__ = "tier_history"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"))
    from_tier_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("tiers.id"))
    to_tier_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("tiers.id"))
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_tier_history_customer_id_id", "customer_id", "id"),)
