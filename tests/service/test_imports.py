"""`loyalty import` (docs/import.md) on both databases: generated files with every
kind of bad row (each refused with its line and reason, the rest imported), a re-run
that imports nothing new, a crash mid-import that a re-run resumes, GB18030 and XLSX
files, and an import that leaves exactly what the same history sent through
`orderRecord` leaves."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select

from api.imports import run_import
from domain.clock import FixedClock
from domain.imports import ChunkResult, ImportService, Row
from domain.program import ProgramSettings
from persistence.customers import CustomerRow
from persistence.database import Database
from persistence.events import EventRow
from persistence.orders import OrderRow
from tests.api.ledger_calls import RECORD
from tests.conftest import GraphQLClient
from tests.databases import PostgresTemplate, SqliteTemplate
from tests.ledger_audit import assert_ledger_clean
from tests.service import wiring
from tests.service.test_order_batches import START, prepare, stored

CUSTOMER_HEADER = ["外部ID", "手机号", "邮箱", "姓名", "生日", "性别", "城市"]
ORDER_HEADER = ["订单号", "会员ID", "金额", "下单时间", "渠道"]


@pytest.fixture
def clock() -> FixedClock:
    """The API's clock and the import's: both at START."""
    return FixedClock(START)


@pytest.fixture
async def twin(
    database_url: str,
    sqlite_template: SqliteTemplate,
    postgres_template: PostgresTemplate | None,
) -> AsyncIterator[Database]:
    """A second fresh database on the same backend as `database`."""
    if database_url.startswith("sqlite"):
        url, name = sqlite_template.fresh(), None
    else:
        assert postgres_template is not None
        name, url = await postgres_template.fresh()
    database = Database.connect(url)
    try:
        yield database
    finally:
        await database.dispose()
        if name is not None and postgres_template is not None:
            await postgres_template.drop(name)


def importer(database: Database, clock: FixedClock) -> ImportService:
    return ImportService(wiring.uow_factory(database), clock, phone_region="CN")


def write_csv(path: Path, header: list[str], rows: list[list[Any]], encoding: str) -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def error_rows(path: Path) -> list[tuple[int, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [(int(r["line"]), r["reason"]) for r in csv.DictReader(handle)]


async def count(database: Database, model: Any) -> int:
    async with database.sessions() as session:
        return (await session.execute(select(func.count()).select_from(model))).scalar_one()


# ---- customers -------------------------------------------------------------------

GOOD_CUSTOMERS = [
    ["m-1", "138 1234 5678", "Ann@Example.COM", "  Ann  Lee ", "1990/3/5", "女", "上海"],
    ["m-2", "+86 139-0000-0001", "", "Bo", "1988年12月1日", "男", ""],
    ["m-3", "", "c@example.com", "Cai", "", "", "杭州"],
]
BAD_CUSTOMERS = [
    (["", "13812345670", "", "No Id", "", "", ""], "external_id: missing"),
    (["m-4", "not a phone", "", "", "", "", ""], "phone: not a phone number"),
    (["m-5", "", "d@@example", "", "", "", ""], "email: not an e-mail address"),
    (["m-6", "", "", "", "1990-02-30", "", ""], "birthday: not a date"),
    (["m-7", "", "", "", "2999-01-01", "", ""], "birthday: INVALID"),  # in the future
    (["m-8", "", "", "", "", "?", ""], "gender: unknown gender"),
    (["m-9", "", "", "x" * 201, "", "", ""], "name: too long"),
    (["erased:1", "", "", "", "", "", ""], "external_id: reserved prefix"),
]


async def test_customers_import_cleans_refuses_bad_rows_with_their_line_and_skips_repeats(
    database: Database, clock: FixedClock, tmp_path: Path
):
    rows = [*GOOD_CUSTOMERS, *(row for row, _ in BAD_CUSTOMERS), GOOD_CUSTOMERS[0]]
    path = write_csv(tmp_path / "members.csv", CUSTOMER_HEADER, rows, "utf-8-sig")

    summary, errors = await run_import(importer(database, clock), path, "customers")

    assert (summary.read, summary.imported, summary.skipped) == (12, 3, 1)
    expected = [(5 + i, reason) for i, (_, reason) in enumerate(BAD_CUSTOMERS)]
    assert error_rows(errors) == expected  # line 1 is the header
    assert summary.refused == {reason: 1 for _, reason in BAD_CUSTOMERS}
    assert summary.changes == {
        "phone to E.164": 3,  # the repeat of m-1 is cleaned before it is skipped
        "email lower-cased": 2,
        "text trimmed": 2,
        "date format read": 3,
        "gender word read": 3,
    }
    async with database.sessions() as session:
        stored_rows = (
            await session.execute(select(CustomerRow).order_by(CustomerRow.external_id))
        ).scalars()
        assert [
            (c.external_id, c.phone, c.email, c.name, str(c.birthday), c.gender, c.city)
            for c in stored_rows
        ] == [
            ("m-1", "+8613812345678", "ann@example.com", "Ann Lee", "1990-03-05", "FEMALE", "上海"),
            ("m-2", "+8613900000001", None, "Bo", "1988-12-01", "MALE", None),
            ("m-3", None, "c@example.com", "Cai", "None", None, "杭州"),
        ]
        created = (
            await session.execute(select(EventRow.type).where(EventRow.type == "customer.created"))
        ).all()
    assert len(created) == 3

    again, _ = await run_import(importer(database, clock), path, "customers")
    assert (again.imported, again.skipped, again.refused_total) == (0, 4, 8)
    assert await count(database, CustomerRow) == 3


# ---- orders ----------------------------------------------------------------------


AMOUNTS = [
    ("¥1,299.00", "1299.00"),
    ("60", "60"),
    ("480.99", "480.99"),
    ("１２０", "120"),
    ("2,600元", "2600"),
]


def order_history() -> list[tuple[dict[str, Any], list[Any]]]:
    """Orders of c-0..c-4 (c-3's and c-4's first orders qualify their referrals):
    each as orderRecord's input and as a row in the shapes a shop's export has it (¥
    and thousands separators, full-width digits, Chinese dates); the last is the
    seventh again (a replay)."""
    history = []
    for i in range(60):
        placed = START - timedelta(days=60 - i, hours=i % 7)  # the program's zone is UTC
        text = [
            placed.strftime("%Y-%m-%d %H:%M:%S"),
            f"{placed.year}/{placed.month}/{placed.day} {placed.hour}:{placed.minute:02d}",
            f"{placed.year}年{placed.month}月{placed.day}日 {placed.hour}:{placed.minute:02d}",
        ][i % 3]
        written, amount = AMOUNTS[i % 5]
        channel = ["app", None, "门店"][i % 3]
        order = {
            "externalId": f"o-{i}",
            "customer": {"externalId": f"c-{i % 5}"},
            "amount": amount,
            "currency": "CNY",
            "placedAt": placed.isoformat(),
            "channel": channel,
        }
        history.append((order, [f"o-{i}", f"c-{i % 5}", written, text, channel or ""]))
    history.append(history[7])
    return history


def order_rows() -> list[list[Any]]:
    return [row for _, row in order_history()]


BAD_ORDERS = [
    (["", "c-0", "10", "2026-01-01"], "external_id: missing"),
    (["b-1", "", "10", "2026-01-01"], "customer_external_id: missing"),
    (["b-2", "ghost", "10", "2026-01-01"], "customer_external_id: NOT_FOUND"),
    (["b-3", "c-0", "ten", "2026-01-01"], "amount: not an amount"),
    (["b-4", "c-0", "", "2026-01-01"], "amount: missing"),
    (["b-5", "c-0", "10.001", "2026-01-01"], "amount: more than 2 decimals"),
    (["b-6", "c-0", "-5", "2026-01-01"], "amount: INVALID"),
    (["b-7", "c-0", "10", "2026-13-01"], "placed_at: not a date"),
    (["b-8", "c-0", "10", ""], "placed_at: missing"),
    (["b-9", "c-0", "10", "2999-01-01"], "placed_at: INVALID"),  # in the future
    (["o-3", "c-0", "7.77", "2026-01-01"], "external_id: IDEMPOTENCY_CONFLICT"),
]


async def test_orders_import_refuses_bad_rows_with_their_line_and_a_rerun_imports_nothing(
    database: Database, clock: FixedClock, tmp_path: Path
):
    await prepare(database, clock, pending_days=0)
    good = order_rows()
    rows = [*good, *(row for row, _ in BAD_ORDERS)]
    path = write_csv(tmp_path / "orders.csv", ORDER_HEADER, rows, "utf-8")

    summary, errors = await run_import(importer(database, clock), path, "orders", chunk_size=25)

    assert (summary.read, summary.imported, summary.skipped) == (72, 60, 1)
    first_bad = 2 + len(good)
    assert error_rows(errors) == [(first_bad + i, r) for i, (_, r) in enumerate(BAD_ORDERS)]
    assert summary.changes["amount symbols removed"] == 36
    assert summary.changes["date format read"] == 41  # 40, and the repeat of o-7
    before = await stored(database)

    again, _ = await run_import(importer(database, clock), path, "orders", chunk_size=25)
    assert (again.imported, again.skipped, again.refused_total) == (0, 61, 11)
    assert await stored(database) == before
    await assert_ledger_clean(database)


class CrashingImport(ImportService):
    """Dies (as a killed process would) before the chunk after `survive` chunks."""

    def __init__(self, *args: Any, survive: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.survive = survive

    async def orders_chunk(
        self, rows: list[Row], program: ProgramSettings, *, award_points: bool
    ) -> ChunkResult:
        if self.survive == 0:
            raise KeyboardInterrupt
        self.survive -= 1
        return await super().orders_chunk(rows, program, award_points=award_points)


async def test_an_import_stopped_mid_file_is_resumed_by_running_it_again(
    database: Database, twin: Database, clock: FixedClock, tmp_path: Path
):
    """The committed chunks are skipped, the rest imported: the end state is that of
    an import that never stopped."""
    for db in (database, twin):
        await prepare(db, clock, pending_days=7)
    path = write_csv(tmp_path / "orders.csv", ORDER_HEADER, order_rows(), "utf-8")
    crashing = CrashingImport(wiring.uow_factory(database), clock, phone_region="CN", survive=2)
    with pytest.raises(KeyboardInterrupt):
        await run_import(crashing, path, "orders", chunk_size=10)
    assert await count(database, OrderRow) == 3 + 20  # the seed orders and two chunks

    resumed, _ = await run_import(importer(database, clock), path, "orders", chunk_size=10)
    assert (resumed.imported, resumed.skipped) == (40, 21)
    await run_import(importer(twin, clock), path, "orders", chunk_size=10)
    assert await stored(database) == await stored(twin)
    await assert_ledger_clean(database)


async def test_gb18030_csv_and_xlsx_files_import_as_the_utf8_csv_does(
    database: Database, twin: Database, clock: FixedClock, tmp_path: Path
):
    """A GB18030 export (Excel's "ANSI" on Chinese Windows) into one database, the
    same rows as an XLSX workbook (number and date cells as Excel stores them) into
    another: the same result."""
    for db in (database, twin):
        await prepare(db, clock, pending_days=0)
    rows = order_rows()
    gb = write_csv(tmp_path / "orders-gb.csv", ORDER_HEADER, rows, "gb18030")
    assert "门店".encode("gb18030") in gb.read_bytes()
    cells = [[r[0], r[1], 1299 if r[2] == "¥1,299.00" else r[2], r[3], r[4] or None] for r in rows]
    xlsx = write_xlsx(tmp_path / "orders.xlsx", ORDER_HEADER, cells)

    from_gb, _ = await run_import(importer(database, clock), gb, "orders")
    from_xlsx, _ = await run_import(importer(twin, clock), xlsx, "orders")

    assert (from_gb.imported, from_gb.skipped, from_gb.refused_total) == (60, 1, 0)
    assert (from_xlsx.imported, from_xlsx.skipped, from_xlsx.refused_total) == (60, 1, 0)
    assert await stored(database) == await stored(twin)


async def test_xlsx_customers_with_excel_date_cells_and_number_phones(
    database: Database, clock: FixedClock, tmp_path: Path
):
    import datetime as dt

    path = write_xlsx(
        tmp_path / "members.xlsx",
        CUSTOMER_HEADER,
        [
            ["m-1", 13812345678, "A@B.CN", "Ann", dt.datetime(1990, 3, 5), "F", None],
            ["m-2", 13812345679, None, "Bo", 32937, None, None],  # serial of 1990-03-05
            ["m-3", "bad phone", None, "Cai", None, None, None],
        ],
    )
    summary, errors = await run_import(importer(database, clock), path, "customers")
    assert (summary.imported, summary.refused_total) == (2, 1)
    assert error_rows(errors) == [(4, "phone: not a phone number")]
    async with database.sessions() as session:
        found = (
            await session.execute(
                select(CustomerRow.phone, CustomerRow.birthday).order_by(CustomerRow.id)
            )
        ).all()
    assert [(p, str(b)) for p, b in found] == [
        ("+8613812345678", "1990-03-05"),
        ("+8613812345679", "1990-03-05"),
    ]


# ---- the import equals the API ----------------------------------------------------


@pytest.mark.parametrize("award_points", [True, False])
async def test_an_import_leaves_what_the_same_orders_sent_through_order_record_leave(
    database: Database,
    twin: Database,
    clock: FixedClock,
    gql: GraphQLClient,
    tmp_path: Path,
    award_points: bool,
):
    """Statistics, points, lots and expiry, tiers, the referrals c-3's and c-4's first
    orders qualify, events: `database` gets the history one orderRecord at a time
    over GraphQL, `twin` gets it from a file; `--no-points` is awardPoints: false."""
    ids = await prepare(database, clock, pending_days=7)
    assert await prepare(twin, clock, pending_days=7) == ids
    ghost = {**order_history()[0][0], "externalId": "b-2", "customer": {"externalId": "ghost"}}
    history = [*order_history(), (ghost, ["b-2", "ghost", "1299", "2026-01-01", ""])]
    for order, _ in history:
        data = await gql(RECORD, {"input": {**order, "awardPoints": award_points}})
        errors = data["orderRecord"]["userErrors"]
        assert [e["code"] for e in errors] == ([] if order is not ghost else ["NOT_FOUND"])
    rows = [row for _, row in history]
    path = write_csv(tmp_path / "orders.csv", ORDER_HEADER, rows, "utf-8-sig")

    summary, _ = await run_import(
        importer(twin, clock), path, "orders", award_points=award_points, chunk_size=16
    )

    assert (summary.imported, summary.skipped, summary.refused_total) == (60, 1, 1)
    assert await stored(database) == await stored(twin)
    await assert_ledger_clean(twin)
