"""`importCreate`: stores the file and queues the job for the worker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import strawberry
from starlette.datastructures import UploadFile

from api.areas import mutation_fields
from api.auth import requires
from api.errors import UserError
from api.import_jobs import files
from api.import_jobs.inputs import ImportCreateInput
from api.import_jobs.types import ImportJobType
from api.payloads import refusals_as_user_errors
from domain import import_jobs as domain
from domain.access import Scope
from domain.errors import DomainError, ErrorCode


@strawberry.type
class ImportCreatePayload:
    import_job: ImportJobType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def _source(input: ImportCreateInput, production: bool) -> None:
    if (input.upload is None) == (input.path is None):
        raise DomainError(
            ErrorCode.REQUIRED, ["upload"], "Send the file as upload, or (in development) a path."
        )
    if input.upload is not None and not isinstance(input.upload, UploadFile):
        raise DomainError(
            ErrorCode.INVALID,
            ["upload"],
            "Send the file as a part of a multipart request (the GraphQL multipart "
            "request spec), not as a value.",
        )
    if input.path is not None and production:
        raise DomainError(
            ErrorCode.INVALID,
            ["path"],
            "path is allowed only when LOYALTY_ENV=development: send the file as upload.",
        )


def _server_file(given: str) -> Path:
    path = Path(given).expanduser()
    if not path.is_absolute() or not path.is_file():
        raise DomainError(
            ErrorCode.NOT_FOUND, ["path"], "path must be the absolute path of a file on the server."
        )
    return path.resolve()


@mutation_fields(position=150)
@strawberry.type
class ImportJobMutation:
    @strawberry.mutation(
        description="Queues a CSV or XLSX file for import by the worker (docs/import.md): "
        "the same import as `loyalty import`, read with `import(id)`.",
        permission_classes=[requires(Scope.IMPORTS_WRITE)],
    )
    @refusals_as_user_errors(ImportCreatePayload)
    async def import_create(
        self, info: strawberry.Info, input: ImportCreateInput
    ) -> ImportCreatePayload:
        settings = info.context.settings
        kind = domain.ImportKind(input.kind)
        mapping = domain.check_mapping(kind, [(m.column, m.field) for m in input.mapping])
        _source(input, settings.is_production)
        server_file = _server_file(input.path) if input.path is not None else None
        folder = files.job_folder(settings.import_dir)
        try:
            if server_file is not None:
                path, name, field = server_file, server_file.name, "path"
            else:
                upload: Any = input.upload
                path = await files.save_upload(upload, folder, settings.import_max_upload_bytes)
                name, field = upload.filename or path.name, "upload"
            await files.check_header(path, kind.cli_name, mapping, field)
            job = await domain.ImportJobService(info.context.uow, info.context.clock).create(
                domain.CreateImportJob(
                    kind=kind,
                    award_points=input.award_points,
                    file_name=name,
                    file_path=str(path),
                    errors_path=str(folder / files.ERRORS_FILE),
                    mapping=mapping,
                )
            )
        except BaseException:
            files.remove(folder)
            raise
        return ImportCreatePayload(import_job=ImportJobType.from_domain(job))
