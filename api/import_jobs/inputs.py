"""Import job inputs."""

from __future__ import annotations

import strawberry
from strawberry.file_uploads import Upload

from api.import_jobs.types import ImportKindType


@strawberry.input(description="A column of the file the built-in layouts do not know.")
class ColumnMapInput:
    column: str = strawberry.field(description="The column's header, as in the file.")
    field: str = strawberry.field(
        description="The field it holds, e.g. phone or external_id (docs/import.md)."
    )


@strawberry.input
class ImportCreateInput:
    kind: ImportKindType  # type: ignore[valid-type]
    award_points: bool = strawberry.field(
        default=True,
        description="ORDERS: false records every order as orderRecord with awardPoints: "
        "false (`--no-points`).",
    )
    upload: Upload | None = strawberry.field(
        default=None,
        description="The CSV or XLSX file, sent as a multipart request (the GraphQL "
        "multipart request spec); at most LOYALTY_IMPORT_MAX_UPLOAD_BYTES.",
    )
    path: str | None = strawberry.field(
        default=None,
        description="Instead of an upload, a file on the server (LOYALTY_ENV=development only).",
    )
    mapping: list[ColumnMapInput] = strawberry.field(
        default_factory=list, description="As `loyalty import --map COLUMN=FIELD`."
    )
