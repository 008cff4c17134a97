"""GET /imports/{id}/errors.csv: an import job's error file (the job's `errorsUrl`),
for the same Bearer API key as the GraphQL API, holding `imports:read`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from api.auth import Anonymous, Caller
from api.http.rate_limits import note_authentication
from api.ids import BadGlobalId, WrongIdType, decode
from domain.access import Scope
from persistence import import_jobs as reads
from persistence.database import Database

Authenticate = Callable[[Request], Awaitable[Caller | Anonymous]]


def _refusal(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def errors_download(
    database: Database, authenticate: Authenticate
) -> Callable[..., Awaitable[Response]]:
    async def errors_csv(request: Request) -> Response:
        caller = await authenticate(request)
        await note_authentication(request, failed=isinstance(caller, Anonymous))
        if isinstance(caller, Anonymous):
            return _refusal(caller.reason, 401)
        if Scope.IMPORTS_READ not in caller.scopes:
            return _refusal("This API key lacks the imports:read scope.", 403)
        try:
            key = decode(request.path_params["id"], "ImportJob")
        except (BadGlobalId, WrongIdType):
            return _refusal("No such import.", 404)
        async with database.reads() as session:
            found = (await reads.jobs_by_ids(session, [key])).get(key)
        if found is None:
            return _refusal("No such import.", 404)
        path = Path(found.errors_path)
        if not await asyncio.to_thread(path.is_file):
            return _refusal("The worker has not written this import's error file yet.", 404)
        return FileResponse(
            path,
            media_type="text/csv; charset=utf-8",
            filename=f"{Path(found.file_name).stem or 'import'}.errors.csv",
        )

    return errors_csv
