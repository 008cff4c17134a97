"""Import jobs (docs/import.md, "Import jobs"): an admin tool hands the API a file
(`importCreate`), the worker runs the same import as `loyalty import` on it, and the
job row tells how far it got.

A job is QUEUED when made. A worker claims one at a time: the job becomes RUNNING
with a lease (its worker's name and an end time), renewed after every chunk with the
progress so far. A worker that dies mid-import leaves the lease to run out; the next
claim after that takes the job over and resumes after the rows its progress counted
(every row is idempotent, so a chunk that committed just before the crash is only
skipped as already there). The job ends SUCCEEDED with the import's summary, or
FAILED with the reason (a file that cannot be read, a header row without a required
column).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from domain.clock import Clock
from domain.errors import DomainError, ErrorCode, ErrorCollector
from domain.import_cleaning import CUSTOMER_ALIASES, ORDER_ALIASES
from domain.imports import ImportSummary
from domain.unit_of_work import Port, UnitOfWorkFactory

MAX_FILE_NAME = 200
MAX_MAPPINGS = 50
MAX_COLUMN = 200
MAX_ERROR = 1000


class ImportKind(StrEnum):
    CUSTOMERS = "CUSTOMERS"
    ORDERS = "ORDERS"

    @property
    def cli_name(self) -> str:
        """What `loyalty import` and `api.imports.run_import` call it."""
        return self.value.lower()


class JobStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@dataclass(frozen=True)
class Progress:
    """Rows handled so far; `errors_bytes`: how much of the error file they wrote (a
    resumed job cuts the file there, so no refused row is listed twice)."""

    read: int = 0
    imported: int = 0
    skipped: int = 0
    refused: int = 0
    errors_bytes: int = 0


@dataclass
class ImportJob:
    id: int | None
    kind: ImportKind
    status: JobStatus
    award_points: bool
    file_name: str
    file_path: str
    errors_path: str
    mapping: dict[str, str]
    created_at: datetime
    progress: Progress = field(default_factory=Progress)
    summary: dict[str, Any] | None = None
    error: str | None = None
    attempts: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    lease_owner: str | None = None
    lease_until: datetime | None = None


def summary_of(data: dict[str, Any] | None) -> ImportSummary:
    """The summary a job stored (ImportSummary.as_dict), to go on counting from."""
    if not data:
        return ImportSummary()
    return ImportSummary(
        read=int(data.get("read", 0)),
        imported=int(data.get("imported", 0)),
        skipped=int(data.get("skipped", 0)),
        refused=Counter({str(k): int(v) for k, v in data.get("refused", {}).items()}),
        changes=Counter({str(k): int(v) for k, v in data.get("changes", {}).items()}),
    )


def progress_of(summary: ImportSummary, errors_bytes: int) -> Progress:
    return Progress(
        summary.read, summary.imported, summary.skipped, summary.refused_total, errors_bytes
    )


class ImportJobRepository(Protocol):
    async def add(self, job: ImportJob) -> ImportJob: ...

    async def get(self, job_id: int) -> ImportJob | None: ...

    async def claim(self, now: datetime, lease_until: datetime, worker: str) -> ImportJob | None:
        """The oldest job that is QUEUED, or RUNNING with a lease that ran out, now
        RUNNING under `worker`'s lease (attempts counted, started_at kept from the
        first claim); None when there is none. Skips rows another transaction holds
        (FOR UPDATE SKIP LOCKED on PostgreSQL)."""
        ...

    async def save_progress(
        self,
        job_id: int,
        worker: str,
        progress: Progress,
        summary: dict[str, Any],
        lease_until: datetime,
    ) -> bool:
        """Stores the progress and renews the lease, if `worker` still holds it."""
        ...

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
        """Ends the job (lease cleared), if `worker` still holds it."""
        ...

    async def release(self, job_id: int, worker: str, now: datetime) -> None:
        """Ends `worker`'s lease at once (a stopping worker): the next claim resumes it."""
        ...


IMPORT_JOBS: Port[ImportJobRepository] = Port("import_jobs")


@dataclass(frozen=True)
class CreateImportJob:
    kind: ImportKind
    award_points: bool
    file_name: str
    file_path: str
    errors_path: str
    mapping: dict[str, str]


def check_mapping(kind: ImportKind, mapping: list[tuple[str, str]]) -> dict[str, str]:
    """The column mapping as header -> field, each field one the kind knows."""
    fields = CUSTOMER_ALIASES if kind is ImportKind.CUSTOMERS else ORDER_ALIASES
    errors = ErrorCollector()
    if len(mapping) > MAX_MAPPINGS:
        errors.add(ErrorCode.TOO_MANY, ["mapping"], f"At most {MAX_MAPPINGS} column mappings.")
    result: dict[str, str] = {}
    for index, (column, name) in enumerate(mapping[:MAX_MAPPINGS]):
        where = ["mapping", str(index)]
        if not column.strip():
            errors.add(ErrorCode.REQUIRED, [*where, "column"], "Name the file's column.")
        elif len(column) > MAX_COLUMN:
            errors.add(ErrorCode.TOO_LONG, [*where, "column"], f"At most {MAX_COLUMN} characters.")
        elif column.strip() in result:
            errors.add(ErrorCode.INVALID, [*where, "column"], "This column is mapped twice.")
        if name not in fields:
            errors.add(
                ErrorCode.INVALID,
                [*where, "field"],
                f"{name!r} is not a field of a {kind.value.lower()} file: {', '.join(fields)}.",
            )
        result[column.strip()] = name
    errors.raise_if_any()
    return result


class ImportJobService:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self.uow_factory = uow_factory
        self.clock = clock

    async def create(self, command: CreateImportJob) -> ImportJob:
        job = ImportJob(
            id=None,
            kind=command.kind,
            status=JobStatus.QUEUED,
            award_points=command.award_points,
            file_name=command.file_name[:MAX_FILE_NAME],
            file_path=command.file_path,
            errors_path=command.errors_path,
            mapping=dict(command.mapping),
            created_at=self.clock.now(),
        )
        async with self.uow_factory() as uow:
            job = await uow.repo(IMPORT_JOBS).add(job)
            await uow.commit()
        return job

    async def get(self, job_id: int) -> ImportJob:
        async with self.uow_factory() as uow:
            job = await uow.repo(IMPORT_JOBS).get(job_id)
        if job is None:
            raise DomainError(ErrorCode.NOT_FOUND, ["id"], "No such import.")
        return job


class LeaseLost(Exception):
    """Another worker took the job over (this one's lease ran out): stop at once."""


class ImportJobRunner:
    """The worker's side: claims a job, records progress under its lease, ends it."""

    def __init__(
        self, uow_factory: UnitOfWorkFactory, clock: Clock, *, worker: str, lease: timedelta
    ) -> None:
        self.uow_factory = uow_factory
        self.clock = clock
        self.worker = worker
        self.lease = lease

    async def claim(self) -> ImportJob | None:
        now = self.clock.now()
        async with self.uow_factory() as uow:
            job = await uow.repo(IMPORT_JOBS).claim(now, now + self.lease, self.worker)
            await uow.commit()
        return job

    async def save_progress(
        self, job: ImportJob, summary: ImportSummary, errors_bytes: int
    ) -> None:
        progress = progress_of(summary, errors_bytes)
        async with self.uow_factory() as uow:
            held = await uow.repo(IMPORT_JOBS).save_progress(
                _id(job), self.worker, progress, summary.as_dict(), self.clock.now() + self.lease
            )
            await uow.commit()
        if not held:
            raise LeaseLost(f"import {job.id}: another worker holds it now")
        job.progress = progress

    async def succeed(self, job: ImportJob, summary: ImportSummary, errors_bytes: int) -> ImportJob:
        return await self._finish(
            job, JobStatus.SUCCEEDED, progress_of(summary, errors_bytes), summary.as_dict(), None
        )

    async def fail(self, job: ImportJob, reason: str) -> ImportJob:
        return await self._finish(job, JobStatus.FAILED, job.progress, job.summary, reason)

    async def release(self, job: ImportJob) -> None:
        async with self.uow_factory() as uow:
            await uow.repo(IMPORT_JOBS).release(_id(job), self.worker, self.clock.now())
            await uow.commit()

    async def _finish(
        self,
        job: ImportJob,
        status: JobStatus,
        progress: Progress,
        summary: dict[str, Any] | None,
        error: str | None,
    ) -> ImportJob:
        now = self.clock.now()
        reason = error[:MAX_ERROR] if error else None
        async with self.uow_factory() as uow:
            held = await uow.repo(IMPORT_JOBS).finish(
                _id(job), self.worker, status, progress, summary, reason, now
            )
            await uow.commit()
        if not held:
            raise LeaseLost(f"import {job.id}: another worker holds it now")
        return replace(
            job,
            status=status,
            progress=progress,
            summary=summary,
            error=reason,
            finished_at=now,
            lease_owner=None,
            lease_until=None,
        )


def _id(job: ImportJob) -> int:
    if job.id is None:
        raise ValueError("an import job that was never stored")
    return job.id
