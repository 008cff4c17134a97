"""The points ledger (append-only entries), the lots points live in, and which lots
each debit drew from (so a cancelled redemption can put points back where they were)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from persistence.base import Base
from persistence.types import BigId, UtcDateTime


class LedgerEntryRow(Base):
    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"))
    kind: Mapped[str] = mapped_column(String(16))
    points: Mapped[int] = mapped_column(Integer)
    balance_after: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(String(500))
    order_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("orders.id"))
    lot_id: Mapped[int | None] = mapped_column(BigId)
    api_key_id: Mapped[int | None] = mapped_column(BigId)
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        Index("ix_ledger_entries_customer_id_id", "customer_id", "id"),
        Index("ix_ledger_entries_kind_created_at", "kind", "created_at"),
    )


class LotRow(Base):
    __tablename__ = "point_lots"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"))
    kind: Mapped[str] = mapped_column(String(16))
    points: Mapped[int] = mapped_column(Integer)
    remaining: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    available_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    order_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("orders.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        Index("ix_point_lots_customer_id_state", "customer_id", "state"),
        Index("ix_point_lots_state_available_at", "state", "available_at"),
        Index("ix_point_lots_state_expires_at", "state", "expires_at"),
    )


class LotDrawRow(Base):
    """How many points one debit entry took from one lot."""

    __tablename__ = "point_lot_draws"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"))
    entry_id: Mapped[int] = mapped_column(BigId, ForeignKey("ledger_entries.id"), index=True)
    lot_id: Mapped[int] = mapped_column(BigId, ForeignKey("point_lots.id"), index=True)
    points: Mapped[int] = mapped_column(Integer)
