"""Recorded actions (check-ins, reviews…) and the points their ACTIVITY rule gave.
Customer-owned: every row carries customer_id."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.earning_rules.activities import ACTIVITIES, Activity
from persistence.base import Base
from persistence.repositories import register
from persistence.types import BigId, JsonDocument, UtcDateTime


class ActivityRow(Base):
    __tablename__ = "activities"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"))
    type: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    rule_id: Mapped[int] = mapped_column(BigId, ForeignKey("earning_rules.id"))
    points: Mapped[int] = mapped_column(Integer)
    streak_days: Mapped[int] = mapped_column(Integer)
    attributes: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument)
    idempotency_key: Mapped[str] = mapped_column(String(128))
    api_key_id: Mapped[int | None] = mapped_column(BigId)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        # Limits, duplicates and streaks: one customer's actions of one type by time.
        Index("ix_activities_customer_id_type_occurred_at", "customer_id", "type", "occurred_at"),
        Index(
            "ix_activities_rule_id_customer_id_occurred_at",
            "rule_id",
            "customer_id",
            "occurred_at",
        ),
    )


def to_domain(row: ActivityRow) -> Activity:
    return Activity(
        id=row.id,
        customer_id=row.customer_id,
        type=row.type,
        occurred_at=row.occurred_at,
        rule_id=row.rule_id,
        points=row.points,
        streak_days=row.streak_days,
        idempotency_key=row.idempotency_key,
        created_at=row.created_at,
        attributes=row.attributes,
        api_key_id=row.api_key_id,
    )


class SqlActivityRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, activity: Activity) -> Activity:
        row = ActivityRow(
            customer_id=activity.customer_id,
            type=activity.type,
            occurred_at=activity.occurred_at,
            rule_id=activity.rule_id,
            points=activity.points,
            streak_days=activity.streak_days,
            attributes=activity.attributes,
            idempotency_key=activity.idempotency_key,
            api_key_id=activity.api_key_id,
            created_at=activity.created_at,
        )
        self.session.add(row)
        await self.session.flush()
        activity.id = row.id
        return activity

    async def get(self, activity_id: int) -> Activity | None:
        row = await self.session.get(ActivityRow, activity_id)
        return to_domain(row) if row else None

    async def count(
        self, customer_id: int, type: str, start: datetime | None, end: datetime | None
    ) -> int:
        statement = select(func.count()).where(
            ActivityRow.customer_id == customer_id, ActivityRow.type == type
        )
        if start is not None:
            statement = statement.where(ActivityRow.occurred_at >= start)
        if end is not None:
            statement = statement.where(ActivityRow.occurred_at < end)
        return int((await self.session.execute(statement)).scalar_one())

    async def exists_at(self, customer_id: int, type: str, occurred_at: datetime) -> bool:
        found = (
            await self.session.execute(
                select(ActivityRow.id)
                .where(
                    ActivityRow.customer_id == customer_id,
                    ActivityRow.type == type,
                    ActivityRow.occurred_at == occurred_at,
                )
                .limit(1)
            )
        ).first()
        return found is not None

    async def times(
        self, customer_id: int, type: str, start: datetime, end: datetime
    ) -> list[datetime]:
        rows = await self.session.execute(
            select(ActivityRow.occurred_at).where(
                ActivityRow.customer_id == customer_id,
                ActivityRow.type == type,
                ActivityRow.occurred_at >= start,
                ActivityRow.occurred_at < end,
            )
        )
        return list(rows.scalars())

    async def points_of_rule(
        self, rule_id: int, customer_id: int, start: datetime, end: datetime
    ) -> int:
        total = (
            await self.session.execute(
                select(func.coalesce(func.sum(ActivityRow.points), 0)).where(
                    ActivityRow.rule_id == rule_id,
                    ActivityRow.customer_id == customer_id,
                    ActivityRow.occurred_at >= start,
                    ActivityRow.occurred_at < end,
                )
            )
        ).scalar_one()
        return int(total)


register(ACTIVITIES, lambda tx: SqlActivityRepository(tx.session))
