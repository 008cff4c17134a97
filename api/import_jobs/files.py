"""Where an import job's files live: each job has a folder of its own under
LOYALTY_IMPORT_DIR holding the uploaded file (a server-side path in development is
read where it is) and the error file the worker writes. The API and every worker
must see the same folder (one machine, or a shared volume)."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from api.imports import open_sheet
from domain.errors import DomainError, ErrorCode
from domain.import_cleaning import map_columns

SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm")
ERRORS_FILE = "errors.csv"


def job_folder(import_dir: str) -> Path:
    folder = Path(import_dir).resolve() / uuid.uuid4().hex
    folder.mkdir(parents=True)
    return folder


def stored_name(file_name: str) -> str:
    """The name an upload is kept under: only its kind (XLSX or CSV) matters."""
    suffix = Path(file_name).suffix.lower()
    return f"upload{suffix}" if suffix in SPREADSHEET_SUFFIXES else "upload.csv"


async def save_upload(upload: Any, folder: Path, limit: int) -> Path:
    """Copies the request's spooled upload into the job's folder."""
    target = folder / stored_name(upload.filename or "")

    def copy() -> int:
        upload.file.seek(0)
        with target.open("wb") as out:
            shutil.copyfileobj(upload.file, out, 1 << 20)
            return out.tell()

    size = await asyncio.to_thread(copy)
    if size > limit:
        raise DomainError(
            ErrorCode.TOO_LONG, ["upload"], f"The file is over {limit} bytes (the upload limit)."
        )
    if size == 0:
        raise DomainError(ErrorCode.REQUIRED, ["upload"], "The file is empty.")
    return target


async def check_header(path: Path, kind: str, mapping: dict[str, str], field: str) -> None:
    """Reads the header row as the worker will, so a file the import cannot start on
    is refused now (a userError naming `field`, or `mapping`) instead of queued."""

    def read() -> None:
        with ExitStack() as stack:
            sheet = open_sheet(path, stack)
            map_columns(sheet.headers, kind, mapping)

    try:
        await asyncio.to_thread(read)
    except ValueError as exc:
        where = "mapping" if str(exc).startswith("--map") else field
        raise DomainError(ErrorCode.INVALID, [where], str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - openpyxl and zipfile raise their own kinds
        raise DomainError(
            ErrorCode.INVALID, [field], f"The file cannot be read as CSV or XLSX: {exc}"
        ) from None


def remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def discard_upload(file_path: Path, errors_path: Path) -> None:
    """Deletes an ended job's uploaded file: it is personal data (phones, names) that
    nothing reads again once the job has succeeded or failed. Only a file the API
    stored in the job's own folder goes; a server-side path (development) is the
    operator's, and the error file stays for `errorsUrl`."""
    if file_path.parent == errors_path.parent and file_path.name == stored_name(file_path.name):
        file_path.unlink(missing_ok=True)
