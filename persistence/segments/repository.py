"""The segment repository the unit of work hands to `SegmentService`."""

from __future__ import annotations

from sqlalchemy import (
    delete,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from domain.segments import SEGMENTS, Segment
from persistence.repositories import register
from persistence.segments.rows import SegmentMemberRow, SegmentRow, to_domain


class SqlSegmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, segment_id: int, *, for_update: bool = False) -> Segment | None:
        statement = select(SegmentRow).where(SegmentRow.id == segment_id)
        if for_update:
            statement = statement.with_for_update()
        row = (await self.session.execute(statement)).scalar_one_or_none()
        return to_domain(row) if row else None

    async def by_key(self, key: str) -> Segment | None:
        row = (
            await self.session.execute(select(SegmentRow).where(SegmentRow.name_key == key))
        ).scalar_one_or_none()
        return to_domain(row) if row else None

    async def add(self, segment: Segment) -> Segment:
        row = SegmentRow(
            name=segment.name,
            name_key=segment.key,
            rule=segment.rule,
            description=segment.description,
            created_at=segment.created_at,
            updated_at=segment.updated_at,
            tracked=segment.tracked,
            snapshot_on=segment.snapshot_on,
        )
        self.session.add(row)
        await self.session.flush()
        segment.id = row.id
        return segment

    async def save(self, segment: Segment) -> None:
        await self.session.execute(
            update(SegmentRow)
            .where(SegmentRow.id == segment.id)
            .values(
                name=segment.name,
                name_key=segment.key,
                rule=segment.rule,
                description=segment.description,
                updated_at=segment.updated_at,
                tracked=segment.tracked,
                snapshot_on=segment.snapshot_on,
            )
        )
        if not segment.tracked:
            await self._forget_members(segment.id)

    async def delete(self, segment_id: int) -> None:
        await self._forget_members(segment_id)
        await self.session.execute(delete(SegmentRow).where(SegmentRow.id == segment_id))

    async def _forget_members(self, segment_id: int | None) -> None:
        """The membership snapshot of a segment no longer tracked (or deleted)."""
        await self.session.execute(
            delete(SegmentMemberRow).where(SegmentMemberRow.segment_id == segment_id)
        )


register(SEGMENTS, lambda tx: SqlSegmentRepository(tx.session))
