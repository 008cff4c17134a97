"""The program's settings: one row, changed by admins through `programUpdate`."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from persistence.base import Base
from persistence.types import UtcDateTime


class ProgramRow(Base):
    __tablename__ = "program_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    timezone: Mapped[str] = mapped_column(String(64))
    earn_rate: Mapped[Decimal] = mapped_column(Numeric(12, 4))
    point_value: Mapped[Decimal] = mapped_column(Numeric(12, 4))
    pending_days: Mapped[int] = mapped_column(Integer)
    expiry_days: Mapped[int | None] = mapped_column(Integer)
    tier_basis: Mapped[str] = mapped_column(String(16))
    tier_window_days: Mapped[int] = mapped_column(Integer)
    tier_retention_days: Mapped[int] = mapped_column(Integer)
    expiring_soon_days: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
