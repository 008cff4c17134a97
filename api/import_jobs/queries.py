"""`import` and `imports`."""

from __future__ import annotations

from typing import Any

import strawberry

from api.areas import query_fields
from api.auth import requires
from api.errors import BadUserInput
from api.ids import BadGlobalId, WrongIdType, decode
from api.import_jobs.types import ImportJobType, fetch_import_job
from api.pagination import Connection, paginate
from domain.access import Scope
from persistence import import_jobs as reads
from persistence.pagination import Page


@query_fields(position=150)
@strawberry.type
class ImportJobQuery:
    @strawberry.field(
        name="import",
        description="One import job: its status, progress, summary and error file.",
        permission_classes=[requires(Scope.IMPORTS_READ)],
    )
    async def import_(self, info: strawberry.Info, id: strawberry.ID) -> ImportJobType | None:
        try:
            key = decode(id, "ImportJob")
        except (BadGlobalId, WrongIdType):
            raise BadUserInput("id is not an ImportJob ID.") from None
        return await fetch_import_job(info, key)

    @strawberry.field(
        description="Import jobs, newest first.",
        permission_classes=[requires(Scope.IMPORTS_READ)],
    )
    async def imports(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> Connection[ImportJobType]:
        async def read(after_key: tuple[Any, ...] | None, size: int) -> Page[Any]:
            return await info.context.read(reads.jobs_page, after_key, size)

        return await paginate(
            sort="IMPORT_JOBS",
            first=first,
            after=after,
            read=read,
            count=lambda: info.context.read(reads.count_jobs),
            to_node=ImportJobType.from_domain,
            cursor_types=(int,),
        )
