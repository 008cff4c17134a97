"""`loyalty import customers|orders FILE` (docs/import.md): reads a CSV or XLSX file
as a stream of rows, hands them to `domain.imports.ImportService` a chunk at a time,
shows a progress bar, writes every refused row to an error file and returns the
summary. Memory stays flat in the file's size: one chunk of rows is held at a time
(openpyxl reads XLSX in its read-only streaming mode).
"""

from __future__ import annotations

import codecs
import csv
import zipfile
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from domain.import_cleaning import WECHAT_APP, blank, map_columns
from domain.imports import ImportService, ImportSummary, Row

# Rows per transaction. Each chunk costs a fixed round of statements plus, for the
# statistics and the monthly read model, an aggregate over every order of the
# customers it touches: larger chunks touch each customer once for more of its orders
# (5,000 imports about 1.8 times as fast as 1,000 on the small bench) while memory
# stays a few MB.
CHUNK = 5000
SNIFF_BYTES = 1 << 20


def detect_encoding(path: Path) -> str:
    """utf-8-sig for a file with a BOM, utf-8 when the first megabyte decodes as
    UTF-8, else GB18030 (what Excel and most Chinese systems export as "ANSI")."""
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


@dataclass(frozen=True)
class Resume:
    """Where an interrupted import job stopped: the summary of the rows it had
    handled (they are not read again) and the error file's size at that point."""

    summary: ImportSummary
    errors_bytes: int


@dataclass
class Sheet:
    """A file opened for reading: its header row, its data rows as (line number,
    cells), and how many data rows it holds (an estimate for XLSX; None unknown)."""

    headers: list[str]
    rows: Iterator[tuple[int, Sequence[Any]]]
    total: int | None
    encoding: str | None


def open_sheet(path: Path, stack: ExitStack) -> Sheet:
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _open_xlsx(path, stack)
    return _open_csv(path, stack)


def _open_csv(path: Path, stack: ExitStack) -> Sheet:
    encoding = detect_encoding(path)
    total, last = 0, b""
    with path.open("rb") as raw:
        while block := raw.read(1 << 20):
            total += block.count(b"\n")
            last = block
        if total and not last.endswith(b"\n"):
            total += 1
    handle = stack.enter_context(path.open(encoding=encoding, newline=""))
    reader = csv.reader(handle)
    headers = next(reader, [])

    def rows() -> Iterator[tuple[int, Sequence[Any]]]:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                yield reader.line_num, cells

    return Sheet(list(headers), rows(), max(total - 1, 0), encoding)


# An XLSX file is a zip, checked by its parts' declared sizes before openpyxl opens it
# (zipfile never inflates a part past its declared size: a part that lies fails its
# CRC). openpyxl holds the shared strings in memory even in read-only mode, so a 300 KB
# file whose strings inflate to 100 MB cost the API 7 s and 250 MB at `importCreate`'s
# header check. Real sheets inflate 5 to 15 times.
XLSX_STRINGS_MAX = 128 << 20
XLSX_TOTAL_MAX = 2 << 30
XLSX_RATIO_MAX = 200
_RATIO_FROM = 1 << 20  # small parts (styles, rels) may inflate as they like


def check_xlsx_parts(path: Path) -> None:
    """ValueError naming the problem when the file would inflate past the limits
    above: the shared strings, all parts together, or any large part's ratio."""
    with zipfile.ZipFile(path) as archive:
        parts = archive.infolist()
    total = sum(part.file_size for part in parts)
    if total > XLSX_TOTAL_MAX:
        raise ValueError(
            f"The XLSX file inflates to {total >> 20} MB (at most {XLSX_TOTAL_MAX >> 20} MB):"
            " save it as CSV, or split it."
        )
    for part in parts:
        if part.filename.lower().endswith("sharedstrings.xml") and (
            part.file_size > XLSX_STRINGS_MAX
        ):
            raise ValueError(
                f"The XLSX file's text inflates to {part.file_size >> 20} MB (at most "
                f"{XLSX_STRINGS_MAX >> 20} MB): save it as CSV, or split it."
            )
        packed = max(part.compress_size, 1)
        if part.file_size > _RATIO_FROM and part.file_size > XLSX_RATIO_MAX * packed:
            raise ValueError(
                f"The XLSX file's part {part.filename} inflates {part.file_size // packed} "
                f"times (a spreadsheet inflates 5 to 15 times; at most {XLSX_RATIO_MAX}): it "
                "is not read."
            )


def _open_xlsx(path: Path, stack: ExitStack) -> Sheet:
    import openpyxl

    check_xlsx_parts(path)
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    stack.callback(book.close)
    sheet = book.active
    if sheet is None:
        raise ValueError(f"{path} has no worksheet.")
    stream = sheet.iter_rows(values_only=True)
    headers = ["" if h is None else str(h) for h in next(stream, ())]
    total = sheet.max_row - 1 if sheet.max_row else None

    def rows() -> Iterator[tuple[int, Sequence[Any]]]:
        for number, cells in enumerate(stream, start=2):
            if any(cell is not None and str(cell).strip() for cell in cells):
                yield number, cells

    return Sheet(headers, rows(), total, None)


def chunks(
    sheet: Sheet, columns: dict[str, int], size: int, defaults: dict[str, str] | None = None
) -> Iterator[tuple[list[Row], dict[int, Sequence[Any]]]]:
    """The data rows as field -> cell dicts, `size` at a time, with each row's raw
    cells by line (for the error file). `defaults`: field -> value for a row whose
    cell is empty or whose file has no such column (`--wechat-app`)."""
    batch: list[Row] = []
    raw: dict[int, Sequence[Any]] = {}
    for line, cells in sheet.rows:
        row = {f: cells[i] if i < len(cells) else None for f, i in columns.items()}
        for name, value in (defaults or {}).items():
            if blank(row.get(name)):
                row[name] = value
        batch.append((line, row))
        raw[line] = cells
        if len(batch) == size:
            yield batch, raw
            batch, raw = [], {}
    if batch:
        yield batch, raw


def _progress(enabled: bool):  # noqa: ANN202
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        Task,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task: Task) -> Text:
            return Text(f"{task.speed or 0:,.0f} rows/s")

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        disable=not enabled,
    )


async def run_import(
    service: ImportService,
    path: Path,
    kind: str,
    *,
    award_points: bool = True,
    mapping: dict[str, str] | None = None,
    errors_path: Path | None = None,
    chunk_size: int = CHUNK,
    progress: bool = False,
    after_chunk: Callable[[], Awaitable[None]] | None = None,
    wechat_app: str | None = None,
    resume: Resume | None = None,
    on_chunk: Callable[[ImportSummary, int], Awaitable[None]] | None = None,
) -> tuple[ImportSummary, Path]:
    """Imports the file (`kind`: "customers" or "orders"); returns the summary and
    the error file's path (written, with a header, whether or not any row failed).
    `wechat_app`: the WeChat app id of the openids of rows without a `wechat_app_id`
    cell (`--wechat-app`).
    `after_chunk`: awaited after each chunk (the CLI closes the pool's connections
    there, see `loyalty import`). `on_chunk`: awaited after each chunk with the
    summary so far and the error file's size (an import job's progress); `resume`
    goes on from such a point (the worker resuming a job, api/import_jobs/)."""
    summary = resume.summary if resume else ImportSummary()
    errors_path = errors_path or path.with_name(path.name + ".errors.csv")
    program = await service.program()
    with ExitStack() as stack:
        sheet = open_sheet(path, stack)
        columns = map_columns(sheet.headers, kind, mapping)
        if resume is not None and resume.errors_bytes and errors_path.exists():
            with errors_path.open("r+b") as written:
                written.truncate(resume.errors_bytes)
            # Appending: the text layer writes no second BOM past the file's start.
            out = stack.enter_context(errors_path.open("a", encoding="utf-8-sig", newline=""))
            errors = csv.writer(out)
            sheet.rows = islice(sheet.rows, summary.read, None)
        else:
            summary = ImportSummary()
            out = stack.enter_context(errors_path.open("w", encoding="utf-8-sig", newline=""))
            errors = csv.writer(out)
            errors.writerow(["line", "reason", "message", *sheet.headers])
        bar = stack.enter_context(_progress(progress))
        task = bar.add_task(f"{kind} from {path.name}", total=sheet.total, completed=summary.read)
        seen: set[str] = set()
        defaults = {WECHAT_APP: wechat_app} if wechat_app else None
        for batch, raw in chunks(sheet, columns, chunk_size, defaults):
            if kind == "customers":
                result = await service.customers(batch, program, seen)
            else:
                result = await service.orders_chunk(batch, program, award_points=award_points)
            summary.add(result)
            for error in sorted(result.errors, key=lambda e: e.line):
                errors.writerow([error.line, error.reason, error.message, *raw[error.line]])
            out.flush()
            bar.advance(task, len(batch))
            if after_chunk is not None:
                await after_chunk()
            if on_chunk is not None:
                await on_chunk(summary, errors_path.stat().st_size)
    return summary, errors_path


def summary_text(summary: ImportSummary, errors_path: Path) -> str:
    lines = [
        f"read {summary.read:,} rows: {summary.imported:,} imported, "
        f"{summary.skipped:,} skipped as already there, {summary.refused_total:,} refused",
    ]
    for reason, count in sorted(summary.refused.items()):
        lines.append(f"  refused  {count:>9,}  {reason}")
    for change, count in sorted(summary.changes.items()):
        lines.append(f"  cleaned  {count:>9,}  {change}")
    if summary.refused_total:
        lines.append(f"refused rows with their line and reason: {errors_path}")
    return "\n".join(lines)


def parse_mapping(pairs: Sequence[str]) -> dict[str, str]:
    """`--map 'Mobile No=phone'` pairs as column header -> field."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        column, sep, field = pair.rpartition("=")
        if not sep or not column.strip() or not field.strip():
            raise ValueError(f"--map {pair!r}: write COLUMN=FIELD.")
        mapping[column.strip()] = field.strip()
    return mapping
