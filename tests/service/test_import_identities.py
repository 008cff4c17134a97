"""`loyalty import` with identities (docs/import.md) on both databases: identity
columns attached to new customers and found by `customer(identity:)`, a taken
identity refused with its line and reason, a customer already there getting the
identities it lacks, the program's `uniqueContactKeys`, and orders naming their
customer by POS card, WeChat unionid or phone."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select

from api.imports import run_import
from domain.clock import FixedClock
from domain.imports import ImportService
from persistence.customers import CustomerRow
from persistence.database import Database
from persistence.identities import CustomerIdentityRow
from tests.conftest import GraphQLClient
from tests.service import wiring

BY_IDENTITY = """query($identity: IdentityInput!) {
  customer(identity: $identity) { externalId ordersCount identities { type namespace value } } }"""
UPSERT = """mutation($input: CustomerUpsertInput!) {
  customerUpsert(input: $input) { customer { id } userErrors { field code } } }"""
MERGE = """mutation($input: CustomerMergeInput!) {
  customerMerge(input: $input) { userErrors { field code } } }"""
PROGRAM = """mutation($input: ProgramUpdateInput!) {
  programUpdate(input: $input) { program { uniqueContactKeys } userErrors { code } } }"""

MEMBERS = [
    "会员ID",
    "手机号",
    "微信UnionID",
    "OpenID",
    "小程序AppID",
    "POS卡号",
    "天猫ID",
    "CRM No",
]


def importer(database: Database, clock: FixedClock) -> ImportService:
    return ImportService(wiring.uow_factory(database), clock, phone_region="CN")


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def error_rows(path: Path) -> list[tuple[int, str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [(int(r["line"]), r["reason"], r["message"]) for r in csv.DictReader(handle)]


async def identity_count(database: Database) -> int:
    async with database.sessions() as session:
        query = select(func.count()).select_from(CustomerIdentityRow)
        return (await session.execute(query)).scalar_one()


async def holder(gql: GraphQLClient, **identity: str) -> dict[str, Any] | None:
    return (await gql(BY_IDENTITY, {"identity": identity}))["customer"]


async def test_identity_columns_are_attached_to_new_customers_and_found_by_them(
    database: Database, gql: GraphQLClient, clock: FixedClock, tmp_path: Path
):
    rows = [
        ["m-1", "13800000001", "u-1", "o-1", "wxAPP1", " 8800001 ", "t-1", "C-1"],
        ["m-2", "13800000002", "", "o-2", "", "8800002", "", ""],  # app id: --wechat-app
        ["m-3", "13800000003", "", "", "", "8800001", "", ""],  # m-1's card, line 2
        ["m-4", "", "", "", "", "x" * 257, "", ""],
        ["m-1", "", "", "", "", "", "t-1", "C-1b"],  # a repeat: gets C-1b only
    ]
    path = write_csv(tmp_path / "members.csv", MEMBERS, rows)
    mapping = {"CRM No": "identity:crm"}

    summary, errors = await run_import(
        importer(database, clock), path, "customers", mapping=mapping, wechat_app="wxMINI"
    )

    assert (summary.read, summary.imported, summary.skipped) == (5, 3, 0)
    assert error_rows(errors) == [
        (4, "pos_card: IDENTITY_TAKEN", "Line 2 of this file gives POS_CARD '8800001' to 'm-1'."),
        (5, "pos_card: TOO_LONG", "pos_card: value is longer than 256 characters."),
    ]
    assert summary.changes["text trimmed"] == 1  # the card's blanks
    m1 = await holder(gql, type="POS_CARD", value="8800001")
    assert m1 is not None and m1["externalId"] == "m-1"
    assert m1["identities"] == [  # mapped columns first, then the others in file order
        {"type": "CUSTOM", "namespace": "crm", "value": "C-1"},
        {"type": "WECHAT_UNIONID", "namespace": None, "value": "u-1"},
        {"type": "WECHAT_OPENID", "namespace": "wxAPP1", "value": "o-1"},
        {"type": "POS_CARD", "namespace": None, "value": "8800001"},
        {"type": "TMALL", "namespace": None, "value": "t-1"},
        {"type": "CUSTOM", "namespace": "crm", "value": "C-1b"},
    ]
    m2 = await holder(gql, type="WECHAT_OPENID", namespace="wxMINI", value="o-2")
    assert m2 is not None and m2["externalId"] == "m-2"
    assert await holder(gql, type="WECHAT_OPENID", namespace="wxAPP1", value="o-2") is None

    again, _ = await run_import(
        importer(database, clock), path, "customers", mapping=mapping, wechat_app="wxMINI"
    )
    assert (again.imported, again.skipped, again.refused_total) == (0, 3, 2)
    assert await identity_count(database) == 8


async def test_a_customer_already_there_gets_the_identities_it_lacks_when_they_are_free(
    database: Database, gql: GraphQLClient, clock: FixedClock, tmp_path: Path
):
    for external_id, card in (("m-1", "p-1"), ("m-2", "p-2")):
        identities = [{"type": "POS_CARD", "value": card}]
        data = await gql(UPSERT, {"input": {"externalId": external_id, "identities": identities}})
        assert data["customerUpsert"]["userErrors"] == []
    rows = [
        ["m-1", "", "u-1", "", "", "p-1", "", ""],  # p-1 is theirs, u-1 is new
        ["m-9", "", "", "", "", "p-2", "", ""],  # m-2's card
        ["m-2", "", "", "o-7", "", "", "", ""],  # an openid without its app id
        ["m-2", "", "u-1", "", "", "", "", ""],  # given to m-1 on line 2
        ["m-2", "", "", "", "", "p-2", "", ""],  # theirs already: nothing to write
    ]
    path = write_csv(tmp_path / "members.csv", MEMBERS, rows)

    summary, errors = await run_import(importer(database, clock), path, "customers")

    assert (summary.imported, summary.skipped) == (1, 1)
    assert [(line, reason) for line, reason, _ in error_rows(errors)] == [
        (3, "pos_card: IDENTITY_TAKEN"),
        (4, "wechat_app_id: REQUIRED"),
        (5, "wechat_unionid: IDENTITY_TAKEN"),
    ]
    m1 = await holder(gql, type="WECHAT_UNIONID", value="u-1")
    assert m1 is not None and m1["externalId"] == "m-1"
    async with database.sessions() as session:
        count = select(func.count()).select_from(CustomerRow)
        assert (await session.execute(count)).scalar_one() == 2  # m-9 was not created


async def test_a_row_naming_a_merged_customer_gives_its_identities_to_the_survivor(
    database: Database, gql: GraphQLClient, clock: FixedClock, tmp_path: Path
):
    ids = {}
    for external_id in ("keep", "gone"):
        data = await gql(UPSERT, {"input": {"externalId": external_id}})
        ids[external_id] = data["customerUpsert"]["customer"]["id"]
    merge = {"survivor": ids["keep"], "merged": ids["gone"], "idempotencyKey": "m-1"}
    assert (await gql(MERGE, {"input": merge}))["customerMerge"]["userErrors"] == []
    path = write_csv(tmp_path / "members.csv", ["会员ID", "POS卡号"], [["gone", "p-9"]])

    summary, _ = await run_import(importer(database, clock), path, "customers")

    assert (summary.imported, summary.skipped, summary.refused_total) == (1, 0, 0)
    survivor = await holder(gql, type="POS_CARD", value="p-9")
    assert survivor is not None and survivor["externalId"] == "keep"


async def test_unique_contact_keys_refuse_a_phone_or_email_another_customer_or_row_has(
    database: Database, gql: GraphQLClient, clock: FixedClock, tmp_path: Path
):
    data = await gql(PROGRAM, {"input": {"uniqueContactKeys": True}})
    assert data["programUpdate"]["program"]["uniqueContactKeys"] is True
    profile = {"externalId": "m-1", "phone": "13800138000", "email": "a@x.cn"}
    assert (await gql(UPSERT, {"input": profile}))["customerUpsert"]["userErrors"] == []
    header = ["会员ID", "手机号", "邮箱"]
    rows = [
        ["m-2", "138 0013 8000", ""],  # m-1's phone, written otherwise
        ["m-3", "", "A@X.cn"],  # m-1's e-mail
        ["m-4", "13900000001", "d@x.cn"],
        ["m-5", "13900000001", ""],  # line 4's phone
        ["m-1", "13700000000", ""],  # already there: skipped, its phone is not checked
    ]
    path = write_csv(tmp_path / "members.csv", header, rows)

    summary, errors = await run_import(importer(database, clock), path, "customers")

    assert (summary.imported, summary.skipped) == (1, 1)
    assert error_rows(errors) == [
        (2, "phone: TAKEN", "customer 'm-1' has this phone."),
        (3, "email: TAKEN", "customer 'm-1' has this email."),
        (5, "phone: TAKEN", "line 4 of this file has this phone."),
    ]

    # Off (the default), customers may share a phone or an e-mail.
    await gql(PROGRAM, {"input": {"uniqueContactKeys": False}})
    again, _ = await run_import(importer(database, clock), path, "customers")
    assert (again.imported, again.skipped, again.refused_total) == (3, 2, 0)


async def test_a_chunk_of_customers_with_identities_costs_the_same_statements_at_any_size(
    database: Database, gql: GraphQLClient, clock: FixedClock, tmp_path: Path
):
    """One read of the identities held, one insert of them, whatever the chunk's size
    (with uniqueContactKeys on: one contact lock statement too)."""
    await gql(PROGRAM, {"input": {"uniqueContactKeys": True}})
    await gql(
        UPSERT, {"input": {"externalId": "old", "identities": [{"type": "JD", "value": "j"}]}}
    )
    counts = []
    for size in (3, 30):
        rows = [[f"s{size}-{i}", f"1380000{size:02d}{i:02d}", f"u{size}-{i}"] for i in range(size)]
        rows.append(["old", "", f"u{size}-old"])
        path = write_csv(tmp_path / f"m{size}.csv", ["会员ID", "手机号", "unionid"], rows)
        statements: list[str] = []

        def count(conn, cursor, statement, *rest, seen=statements) -> None:  # noqa: ANN001
            seen.append(statement)

        engine = database.engine.sync_engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            summary, _ = await run_import(importer(database, clock), path, "customers")
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert (summary.imported, summary.refused_total) == (size + 1, 0)
        counts.append(len(statements))
    assert counts[0] == counts[1]
    assert await identity_count(database) == 1 + 3 + 30 + 2


ORDERS = ["订单号", "POS卡号", "unionid", "会员手机号", "实付金额", "下单时间"]


async def test_orders_naming_their_customer_by_card_unionid_phone_or_custom_id_land_right(
    database: Database, gql: GraphQLClient, clock: FixedClock, tmp_path: Path
):
    members = [
        ["m-1", "13800000001", "u-1", "", "", "8800001", "", ""],
        ["m-2", "13800000002", "", "", "", "8800002", "", "C-2"],
        ["m-3", "13800000009", "", "", "", "", "", ""],
        ["m-4", "13800000009", "", "", "", "", "", ""],  # shares m-3's phone
    ]
    path = write_csv(tmp_path / "members.csv", MEMBERS, members)
    summary, _ = await run_import(
        importer(database, clock), path, "customers", mapping={"CRM No": "identity:crm"}
    )
    assert summary.imported == 4
    rows = [
        ["o-1", "8800001", "", "", "¥100", "2025/3/1 10:00"],
        ["o-2", " 8800002 ", "", "", "50", "2025/3/2 10:00"],
        ["o-3", "", "u-1", "", "30", "2025/3/3 10:00"],
        ["o-4", "", "", "138 0000 0002", "20", "2025/3/4 10:00"],
        ["o-5", "8899999", "", "", "10", "2025/3/5 10:00"],
        ["o-6", "8800001", "", "13800000001", "10", "2025/3/6 10:00"],
        ["o-7", "", "", "", "10", "2025/3/7 10:00"],
        ["o-8", "", "", "13800000009", "10", "2025/3/8 10:00"],
        ["o-9", "", "", "no phone", "10", "2025/3/9 10:00"],
    ]
    rows = [[*row, ""] for row in rows]
    rows.append(["o-10", "", "", "", "15", "2025/3/10 10:00", "C-2"])
    path = write_csv(tmp_path / "orders.csv", [*ORDERS, "CRM"], rows)
    crm = {"CRM": "customer_identity:crm"}

    summary, errors = await run_import(importer(database, clock), path, "orders", mapping=crm)

    assert (summary.imported, summary.skipped) == (5, 0)
    assert [(line, reason) for line, reason, _ in error_rows(errors)] == [
        (6, "customer_pos_card: NOT_FOUND"),
        (7, "customer: more than one way"),
        (8, "customer: missing"),
        (9, "customer_phone: AMBIGUOUS_CUSTOMER"),
        (10, "customer_phone: not a phone number"),
    ]
    m1 = await holder(gql, type="POS_CARD", value="8800001")
    m2 = await holder(gql, type="POS_CARD", value="8800002")
    assert m1 is not None and m1["externalId"] == "m-1" and m1["ordersCount"] == 2
    assert m2 is not None and m2["externalId"] == "m-2" and m2["ordersCount"] == 3

    again, _ = await run_import(importer(database, clock), path, "orders", mapping=crm)
    assert (again.imported, again.skipped, again.refused_total) == (0, 5, 5)


async def test_imports_giving_one_card_to_different_customers_at_once_leave_it_with_one(
    database: Database, gql: GraphQLClient, clock: FixedClock, tmp_path: Path
):
    """The losers' identity insert fails on the unique key; their chunk runs again and
    refuses the row."""
    paths = [
        write_csv(tmp_path / f"m{i}.csv", ["会员ID", "POS卡号"], [[f"m-{i}", "p-1"]])
        for i in range(4)
    ]
    results = await asyncio.gather(
        *(run_import(importer(database, clock), path, "customers") for path in paths)
    )
    assert sorted((s.imported, dict(s.refused)) for s, _ in results) == [
        (0, {"pos_card: IDENTITY_TAKEN": 1}),
        (0, {"pos_card: IDENTITY_TAKEN": 1}),
        (0, {"pos_card: IDENTITY_TAKEN": 1}),
        (1, {}),
    ]
    assert await identity_count(database) == 1
    async with database.sessions() as session:
        count = select(func.count()).select_from(CustomerRow)
        assert (await session.execute(count)).scalar_one() == 1
