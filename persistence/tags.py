"""Tag rows, the customer↔tag link, the repository, and tag reads."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.tags import TAGS, Tag, TagSource
from persistence.base import Base, table_of
from persistence.customers import CustomerRow
from persistence.pagination import Page, SortKey, keyset, page_of
from persistence.repositories import register
from persistence.statements import insert_ignoring_duplicates, rows_matched
from persistence.types import BigId, UtcDateTime


class TagRow(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64))
    name_key: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str | None] = mapped_column(String(500))
    color: Mapped[str | None] = mapped_column(String(7))
    source: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CustomerTagRow(Base):
    """Which customer wears which tag. Keyed by customer first, like every
    customer-owned table, so it can be distributed by customer later."""

    __tablename__ = "customer_tags"

    customer_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True
    )

    __table_args__ = (Index("ix_customer_tags_tag_id_customer_id", "tag_id", "customer_id"),)


def to_domain(row: TagRow) -> Tag:
    return Tag(
        id=row.id,
        name=row.name,
        description=row.description,
        color=row.color,
        source=TagSource(row.source),
        created_at=row.created_at,
    )


class SqlTagRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, tag_id: int) -> Tag | None:
        row = await self.session.get(TagRow, tag_id)
        return to_domain(row) if row else None

    async def by_keys(self, keys: Sequence[str]) -> list[Tag]:
        if not keys:
            return []
        rows = await self.session.execute(select(TagRow).where(TagRow.name_key.in_(list(keys))))
        return [to_domain(r) for r in rows.scalars()]

    async def by_ids(self, tag_ids: Sequence[int]) -> list[Tag]:
        if not tag_ids:
            return []
        rows = await self.session.execute(select(TagRow).where(TagRow.id.in_(list(tag_ids))))
        return [to_domain(r) for r in rows.scalars()]

    async def add(self, tag: Tag) -> Tag:
        row = TagRow(
            name=tag.name,
            name_key=tag.key,
            description=tag.description,
            color=tag.color,
            source=tag.source.value,
            created_at=tag.created_at,
        )
        self.session.add(row)
        await self.session.flush()
        tag.id = row.id
        return tag

    async def save(self, tag: Tag) -> None:
        await self.session.execute(
            update(TagRow)
            .where(TagRow.id == tag.id)
            .values(name=tag.name, name_key=tag.key, description=tag.description, color=tag.color)
        )

    async def delete(self, tag_id: int) -> None:
        await self.session.execute(delete(CustomerTagRow).where(CustomerTagRow.tag_id == tag_id))
        await self.session.execute(delete(TagRow).where(TagRow.id == tag_id))

    async def attach(self, customer_ids: Sequence[int], tag_ids: Sequence[int]) -> int:
        rows = [{"customer_id": c, "tag_id": t} for c in customer_ids for t in tag_ids]
        added = 0
        for start in range(0, len(rows), 5000):
            added += await insert_ignoring_duplicates(
                self.session, table_of(CustomerTagRow), rows[start : start + 5000]
            )
        return added

    async def detach(self, customer_ids: Sequence[int], tag_ids: Sequence[int]) -> int:
        if not customer_ids or not tag_ids:
            return 0
        result = await self.session.execute(
            delete(CustomerTagRow).where(
                CustomerTagRow.customer_id.in_(list(customer_ids)),
                CustomerTagRow.tag_id.in_(list(tag_ids)),
            )
        )
        return rows_matched(result)


# ---- reads for the API -------------------------------------------------------------

TAG_SORT = SortKey((TagRow.name_key, TagRow.id))


async def list_tags(
    session: AsyncSession, after: Sequence[Any] | None, first: int, search: str | None = None
) -> Page[Tag]:
    statement = select(TagRow)
    if search:
        statement = statement.where(
            TagRow.name_key.contains(search.strip().casefold(), autoescape=True)
        )
    rows = (await session.execute(keyset(statement, TAG_SORT, after, first))).scalars().all()
    page = page_of(rows, first, lambda r: (r.name_key, r.id))
    return Page([to_domain(r) for r in page.items], page.keys, page.has_next)


async def count_tags(session: AsyncSession, search: str | None = None) -> int:
    statement = select(func.count()).select_from(TagRow)
    if search:
        statement = statement.where(
            TagRow.name_key.contains(search.strip().casefold(), autoescape=True)
        )
    return (await session.execute(statement)).scalar_one()


async def tags_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, Tag]:
    rows = await session.execute(select(TagRow).where(TagRow.id.in_(list(ids))))
    return {r.id: to_domain(r) for r in rows.scalars()}


async def tag_by_name(session: AsyncSession, name: str) -> Tag | None:
    row = (
        await session.execute(select(TagRow).where(TagRow.name_key == name.strip().casefold()))
    ).scalar_one_or_none()
    return to_domain(row) if row else None


async def tags_of_customers(
    session: AsyncSession, customer_ids: Sequence[int]
) -> dict[int, list[Tag]]:
    """All tags of many customers in one statement (the Customer.tags loader)."""
    rows = await session.execute(
        select(CustomerTagRow.customer_id, TagRow)
        .join(TagRow, TagRow.id == CustomerTagRow.tag_id)
        .where(CustomerTagRow.customer_id.in_(list(customer_ids)))
        .order_by(CustomerTagRow.customer_id, TagRow.name_key)
    )
    result: dict[int, list[Tag]] = {cid: [] for cid in customer_ids}
    for customer_id, row in rows.all():
        result[customer_id].append(to_domain(row))
    return result


async def customer_counts(session: AsyncSession, tag_ids: Sequence[int]) -> dict[int, int]:
    """Live (not erased) customers per tag, for many tags in one statement."""
    rows = await session.execute(
        select(CustomerTagRow.tag_id, func.count())
        .join(CustomerRow, CustomerRow.id == CustomerTagRow.customer_id)
        .where(CustomerTagRow.tag_id.in_(list(tag_ids)), CustomerRow.erased_at.is_(None))
        .group_by(CustomerTagRow.tag_id)
    )
    counts = dict.fromkeys(tag_ids, 0)
    counts.update({tag_id: n for tag_id, n in rows.all()})
    return counts


register(TAGS, lambda tx: SqlTagRepository(tx.session))
