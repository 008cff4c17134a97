"""Feedback rows (NPS and CSAT answers), the repository, and the per-customer list.

Customer-owned like every table a customer's actions write: the row carries
customer_id, and the list index leads with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.feedback import FEEDBACK, Feedback, FeedbackKind
from persistence.base import Base
from persistence.orders import OrderRow
from persistence.pagination import (
    Page,
    PageRequest,
    SortKey,
    counts_per_parent,
    pages_per_parent,
)
from persistence.repositories import register
from persistence.types import BigId, UtcDateTime


class FeedbackRow(Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"))
    kind: Mapped[str] = mapped_column(String(8))
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(String(2000))
    order_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("orders.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        Index("ix_feedback_customer_id_created_at_id", "customer_id", "created_at", "id"),
        # NPS/CSAT per period: a range scan that never touches the table.
        Index("ix_feedback_created_at_kind_score", "created_at", "kind", "score"),
    )


def to_domain(row: FeedbackRow) -> Feedback:
    return Feedback(
        id=row.id,
        customer_id=row.customer_id,
        kind=FeedbackKind(row.kind),
        score=row.score,
        comment=row.comment,
        order_id=row.order_id,
        created_at=row.created_at,
    )


class SqlFeedbackRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, feedback: Feedback) -> Feedback:
        row = FeedbackRow(
            customer_id=feedback.customer_id,
            kind=feedback.kind.value,
            score=feedback.score,
            comment=feedback.comment,
            order_id=feedback.order_id,
            created_at=feedback.created_at,
        )
        self.session.add(row)
        await self.session.flush()
        return to_domain(row)

    async def order_owner(self, order_id: int) -> int | None:
        owner = await self.session.execute(
            select(OrderRow.customer_id).where(OrderRow.id == order_id)
        )
        return owner.scalar_one_or_none()


# ---- reads for the API -------------------------------------------------------------

NEWEST_FIRST = SortKey((FeedbackRow.created_at, FeedbackRow.id), True)


async def feedback_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, Feedback]:
    rows = await session.execute(select(FeedbackRow).where(FeedbackRow.id.in_(list(ids))))
    return {r.id: to_domain(r) for r in rows.scalars()}


async def feedback_pages(
    session: AsyncSession, requests: Sequence[PageRequest]
) -> dict[PageRequest, Page[Feedback]]:
    """`Customer.feedback` for a page of customers: one query per distinct cursor."""
    pages = await pages_per_parent(
        session,
        FeedbackRow,
        FeedbackRow.customer_id,
        NEWEST_FIRST,
        requests,
        lambda r: (r.created_at, r.id),
    )
    return {k: Page([to_domain(r) for r in p.items], p.keys, p.has_next) for k, p in pages.items()}


async def feedback_counts(session: AsyncSession, customer_ids: Sequence[int]) -> dict[int, int]:
    return await counts_per_parent(session, FeedbackRow.customer_id, customer_ids)


register(FEEDBACK, lambda tx: SqlFeedbackRepository(tx.session))
