"""Import jobs (domain/import_jobs.py): one row per `importCreate`.

`claim` selects the oldest QUEUED job, or a RUNNING one whose lease ran out, ``FOR
UPDATE SKIP LOCKED`` (PostgreSQL; SQLite ignores the clause and serialises writers),
then stamps its lease with an UPDATE that re-checks the same condition, so two
workers never both take a job while a lease runs. Progress and the end of a job are
written only under the writer's own lease.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Index, Integer, String, Text, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.import_jobs import IMPORT_JOBS, ImportJob, ImportKind, JobStatus, Progress
from persistence.base import Base, BigId, UtcDateTime
from persistence.pagination import Page, SortKey, keyset, page_of
from persistence.repositories import register
from persistence.statements import rows_matched
from persistence.types import JsonDocument


class ImportJobRow(Base):
    __tablename__ = "import_jobs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    award_points: Mapped[bool] = mapped_column(Boolean)
    file_name: Mapped[str] = mapped_column(String(200))
    file_path: Mapped[str] = mapped_column(String(1000))
    errors_path: Mapped[str] = mapped_column(String(1000))
    mapping: Mapped[dict[str, str]] = mapped_column(JsonDocument)
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_imported: Mapped[int] = mapped_column(Integer, default=0)
    rows_skipped: Mapped[int] = mapped_column(Integer, default=0)
    rows_refused: Mapped[int] = mapped_column(Integer, default=0)
    errors_bytes: Mapped[int] = mapped_column(BigId, default=0)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_import_jobs_status_id", "status", "id"),)


def job_of(row: ImportJobRow) -> ImportJob:
    return ImportJob(
        id=row.id,
        kind=ImportKind(row.kind),
        status=JobStatus(row.status),
        award_points=row.award_points,
        file_name=row.file_name,
        file_path=row.file_path,
        errors_path=row.errors_path,
        mapping=dict(row.mapping or {}),
        created_at=row.created_at,
        progress=Progress(
            row.rows_read, row.rows_imported, row.rows_skipped, row.rows_refused, row.errors_bytes
        ),
        summary=row.summary,
        error=row.error,
        attempts=row.attempts,
        started_at=row.started_at,
        finished_at=row.finished_at,
        lease_owner=row.lease_owner,
        lease_until=row.lease_until,
    )


def _claimable(now: datetime) -> Any:
    J = ImportJobRow
    return or_(
        J.status == JobStatus.QUEUED.value,
        and_(J.status == JobStatus.RUNNING.value, J.lease_until <= now),
    )


def _progress_values(progress: Progress) -> dict[str, int]:
    return {
        "rows_read": progress.read,
        "rows_imported": progress.imported,
        "rows_skipped": progress.skipped,
        "rows_refused": progress.refused,
        "errors_bytes": progress.errors_bytes,
    }


class SqlImportJobRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, job: ImportJob) -> ImportJob:
        row = ImportJobRow(
            kind=job.kind.value,
            status=job.status.value,
            award_points=job.award_points,
            file_name=job.file_name,
            file_path=job.file_path,
            errors_path=job.errors_path,
            mapping=job.mapping,
            summary=job.summary,
            error=job.error,
            attempts=job.attempts,
            created_at=job.created_at,
            **_progress_values(job.progress),
        )
        self.session.add(row)
        await self.session.flush()
        return job_of(row)

    async def get(self, job_id: int) -> ImportJob | None:
        row = await self.session.get(ImportJobRow, job_id)
        return job_of(row) if row else None

    async def claim(self, now: datetime, lease_until: datetime, worker: str) -> ImportJob | None:
        J = ImportJobRow
        statement = (
            select(J.id)
            .where(_claimable(now))
            .order_by(J.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        job_id = (await self.session.execute(statement)).scalar_one_or_none()
        if job_id is None:
            return None
        taken = await self.session.execute(
            update(J)
            .where(J.id == job_id, _claimable(now))
            .values(
                status=JobStatus.RUNNING.value,
                lease_owner=worker,
                lease_until=lease_until,
                attempts=J.attempts + 1,
                started_at=func.coalesce(J.started_at, now),
            )
        )
        if rows_matched(taken) != 1:
            return None
        row = (
            await self.session.execute(
                select(J).where(J.id == job_id).execution_options(populate_existing=True)
            )
        ).scalar_one()
        return job_of(row)

    async def save_progress(
        self,
        job_id: int,
        worker: str,
        progress: Progress,
        summary: dict[str, Any],
        lease_until: datetime,
    ) -> bool:
        J = ImportJobRow
        saved = await self.session.execute(
            update(J)
            .where(J.id == job_id, J.lease_owner == worker, J.status == JobStatus.RUNNING.value)
            .values(summary=summary, lease_until=lease_until, **_progress_values(progress))
        )
        return rows_matched(saved) == 1

    async def finish(
        self,
        job_id: int,
        worker: str,
        status: JobStatus,
        progress: Progress,
        summary: dict[str, Any] | None,
        error: str | None,
        at: datetime,
    ) -> bool:
        J = ImportJobRow
        done = await self.session.execute(
            update(J)
            .where(J.id == job_id, J.lease_owner == worker, J.status == JobStatus.RUNNING.value)
            .values(
                status=status.value,
                summary=summary,
                error=error,
                finished_at=at,
                lease_owner=None,
                lease_until=None,
                **_progress_values(progress),
            )
        )
        return rows_matched(done) == 1

    async def release(self, job_id: int, worker: str, now: datetime) -> None:
        J = ImportJobRow
        await self.session.execute(
            update(J)
            .where(J.id == job_id, J.lease_owner == worker, J.status == JobStatus.RUNNING.value)
            .values(lease_until=now)
        )


# ---- reads for the API -------------------------------------------------------------

JOB_ORDER = SortKey((ImportJobRow.id,), descending=True)


async def jobs_page(
    session: AsyncSession, after: Sequence[Any] | None, first: int
) -> Page[ImportJob]:
    """Newest first."""
    statement = keyset(select(ImportJobRow), JOB_ORDER, after, first)
    rows = (await session.execute(statement)).scalars().all()
    page = page_of(rows, first, lambda r: (r.id,))
    return Page([job_of(r) for r in page.items], page.keys, page.has_next)


async def count_jobs(session: AsyncSession) -> int:
    return (await session.execute(select(func.count()).select_from(ImportJobRow))).scalar_one()


async def jobs_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, ImportJob]:
    rows = await session.execute(select(ImportJobRow).where(ImportJobRow.id.in_(list(ids))))
    return {r.id: job_of(r) for r in rows.scalars()}


register(IMPORT_JOBS, lambda tx: SqlImportJobRepository(tx.session))
