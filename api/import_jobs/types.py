"""ImportJob: a file being imported by the worker, its progress and summary."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api import ids
from api.import_jobs.loaders import IMPORT_JOB
from api.node import Node, register
from domain import import_jobs as domain
from domain.access import Scope

ImportKindType = strawberry.enum(domain.ImportKind, name="ImportKind")
ImportStatusType = strawberry.enum(
    domain.JobStatus,
    name="ImportStatus",
    description="QUEUED until a worker claims it; RUNNING (resumed by another worker if "
    "its worker stops); SUCCEEDED with a summary, or FAILED with the reason.",
)


def errors_url(job_id: int | None) -> str:
    """The error file's download route (api/import_jobs/download.py)."""
    return f"/imports/{ids.encode('ImportJob', job_id)}/errors.csv"


@strawberry.type(name="ImportProgress", description="Rows handled so far.")
class ImportProgressType:
    read: int
    imported: int
    skipped: int = strawberry.field(description="Already there (a re-run, or a repeat).")
    refused: int = strawberry.field(description="Listed with line and reason in the error file.")


@strawberry.type(name="ImportCount")
class ImportCountType:
    reason: str
    count: int


@strawberry.type(
    name="ImportSummary",
    description="What `loyalty import` prints at the end: rows by outcome, the "
    "refusals by reason and each cleaning change.",
)
class ImportSummaryType:
    read: int
    imported: int
    skipped: int
    refused: list[ImportCountType]
    changes: list[ImportCountType]

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> ImportSummaryType:
        summary = domain.summary_of(data)
        return cls(
            read=summary.read,
            imported=summary.imported,
            skipped=summary.skipped,
            refused=[
                ImportCountType(reason=r, count=c) for r, c in sorted(summary.refused.items())
            ],
            changes=[
                ImportCountType(reason=r, count=c) for r, c in sorted(summary.changes.items())
            ],
        )


@strawberry.type(name="ImportJob", description="A file imported by the worker (importCreate).")
class ImportJobType(Node):
    id: strawberry.ID
    kind: ImportKindType  # type: ignore[valid-type]
    status: ImportStatusType  # type: ignore[valid-type]
    award_points: bool
    file_name: str = strawberry.field(description="The uploaded file's name, or the path's.")
    progress: ImportProgressType
    summary: ImportSummaryType | None = strawberry.field(
        description="Set when the job SUCCEEDED (while RUNNING: the rows so far)."
    )
    error: str | None = strawberry.field(description="Why the job FAILED.")
    errors_url: str | None = strawberry.field(
        description="GET it on this API's origin with the same Bearer key (imports:read): "
        "the refused rows as CSV, with line, reason and the row's cells. Null until "
        "the worker has written it."
    )
    attempts: int = strawberry.field(description="Claims by a worker (more than 1: resumed).")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def from_domain(cls, job: domain.ImportJob) -> ImportJobType:
        p = job.progress
        written = p.errors_bytes > 0 or job.status is domain.JobStatus.SUCCEEDED
        return cls(
            id=strawberry.ID(ids.encode("ImportJob", job.id)),
            kind=job.kind,
            status=job.status,
            award_points=job.award_points,
            file_name=job.file_name,
            progress=ImportProgressType(
                read=p.read, imported=p.imported, skipped=p.skipped, refused=p.refused
            ),
            summary=ImportSummaryType.from_dict(job.summary) if job.summary else None,
            error=job.error,
            errors_url=errors_url(job.id) if written else None,
            attempts=job.attempts,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
        )


@register("ImportJob", Scope.IMPORTS_READ)
async def fetch_import_job(info: strawberry.Info, key: int) -> ImportJobType | None:
    found = await info.context.loader(IMPORT_JOB).load(key)
    return ImportJobType.from_domain(found) if found else None
