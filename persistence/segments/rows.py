"""The saved segment's table and its mapping to the domain `Segment`."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    String,
    Text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from domain.segments import Segment
from persistence.base import Base
from persistence.types import BigId, UtcDateTime


class SegmentRow(Base):
    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    name_key: Mapped[str] = mapped_column(String(100), unique=True)
    rule: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    tracked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    snapshot_on: Mapped[date | None] = mapped_column(Date)


class SegmentMemberRow(Base):
    """A tracked segment's members at its last daily pass (domain/daily_triggers.py)."""

    __tablename__ = "segment_members"

    segment_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True
    )
    customer_id: Mapped[int] = mapped_column(BigId, primary_key=True)


def to_domain(row: SegmentRow) -> Segment:
    return Segment(
        id=row.id,
        name=row.name,
        rule=row.rule,
        description=row.description,
        created_at=row.created_at,
        updated_at=row.updated_at,
        tracked=row.tracked,
        snapshot_on=row.snapshot_on,
    )
