"""Lifecycle and RFM over GraphQL: per customer, summaries, scopes, statement counts.

The history is the "ties at the mean" one of tests/service/test_classification.py:
        R (days)  F   M     class              stage as of T
   a    1         2   150   IMPORTANT_DEVELOP  NEW (first order 4 days before T)
   b    3         1   100   GENERAL_WINBACK    NEW (3 days)
   c    5         3   100   GENERAL_RETAIN     ACTIVE
   d    3         2   50    GENERAL_WINBACK    ACTIVE
   refunded-only: no counted order, PROSPECT, outside the RFM population.
"""

from __future__ import annotations

from sqlalchemy import event

from api import ids as global_ids
from domain.access import Role
from domain.program import ProgramSettings, RfmCut
from persistence.program import SqlProgramRepository
from tests.conftest import make_key
from tests.order_history import Order, build_history
from tests.service.test_classification import (
    MEAN_CUSTOMERS,
    MEAN_ORDERS,
    MEDIAN_CUSTOMERS,
    MEDIAN_ORDERS,
    D,
    T,
)

AS_OF = T.isoformat()

CUSTOMER = """
query($externalId: String!, $asOf: DateTime, $lookbackDays: Int) {
  customer(externalId: $externalId) {
    lifecycleStage(asOf: $asOf)
    rfm(asOf: $asOf, lookbackDays: $lookbackDays) {
      recency frequency monetary { amount currency } rScore fScore mScore class
    }
  }
}"""

LIFECYCLE_SUMMARY = """
query($asOf: DateTime) {
  lifecycleSummary(asOf: $asOf) { asOf total stages { stage displayName count } }
}"""

RFM_SUMMARY = """
query($asOf: DateTime, $lookbackDays: Int) {
  rfmSummary(asOf: $asOf, lookbackDays: $lookbackDays) {
    populationSize lookbackDays
    cuts { median recency frequency monetary { amount } }
    classes {
      class displayName count revenue { amount currency }
      meanRecency meanFrequency meanMonetary { amount }
    }
  }
}"""


async def test_customer_lifecycle_stage_and_rfm(gql, database) -> None:
    await build_history(database, MEAN_CUSTOMERS, MEAN_ORDERS)

    a = (await gql(CUSTOMER, {"externalId": "a", "asOf": AS_OF}))["customer"]
    assert a["lifecycleStage"] == "NEW"
    assert a["rfm"] == {
        "recency": 1.0,
        "frequency": 2,
        "monetary": {"amount": "150.00", "currency": "CNY"},
        "rScore": 4,
        "fScore": 2,
        "mScore": 4,
        "class": "IMPORTANT_DEVELOP",
    }

    outside = (await gql(CUSTOMER, {"externalId": "refunded-only", "asOf": AS_OF}))["customer"]
    assert outside == {"lifecycleStage": "PROSPECT", "rfm": None}

    # A week later a has not bought again; as of before any order, nobody has.
    later = (T + 7 * D).isoformat()
    assert (await gql(CUSTOMER, {"externalId": "a", "asOf": later}))["customer"][
        "lifecycleStage"
    ] == "ACTIVE"
    before = (T - 30 * D).isoformat()
    early = (await gql(CUSTOMER, {"externalId": "a", "asOf": before}))["customer"]
    assert early == {"lifecycleStage": "PROSPECT", "rfm": None}

    # With a 2-day look-back only a's order of 1 day ago is left, and a is the whole
    # population: nobody is worse (every score 1) and a sits exactly at every mean.
    windowed = await gql(CUSTOMER, {"externalId": "a", "asOf": AS_OF, "lookbackDays": 2})
    rfm = windowed["customer"]["rfm"]
    assert (rfm["frequency"], rfm["monetary"]["amount"]) == (1, "100.00")
    assert (rfm["rScore"], rfm["fScore"], rfm["mScore"]) == (1, 1, 1)
    assert rfm["class"] == "GENERAL_WINBACK"


async def test_lifecycle_summary_counts_every_stage(gql, database) -> None:
    await build_history(database, MEAN_CUSTOMERS, MEAN_ORDERS)
    summary = (await gql(LIFECYCLE_SUMMARY, {"asOf": AS_OF}))["lifecycleSummary"]
    assert summary["total"] == 5
    assert summary["stages"] == [
        {"stage": "PROSPECT", "displayName": "潜在客户", "count": 1},
        {"stage": "NEW", "displayName": "新客户", "count": 2},
        {"stage": "LOYAL", "displayName": "忠诚客户", "count": 0},
        {"stage": "ACTIVE", "displayName": "活跃客户", "count": 2},
        {"stage": "SILENT", "displayName": "沉默客户", "count": 0},
        {"stage": "CHURNED", "displayName": "流失客户", "count": 0},
    ]


def money(amount: str) -> dict:
    return {"amount": amount, "currency": "CNY"}


async def test_rfm_summary_per_class_with_the_mean_cuts(gql, database) -> None:
    await build_history(database, MEAN_CUSTOMERS, MEAN_ORDERS)
    summary = (await gql(RFM_SUMMARY, {"asOf": AS_OF}))["rfmSummary"]

    assert summary["populationSize"] == 4
    assert summary["lookbackDays"] is None
    assert summary["cuts"] == {
        "median": False,
        "recency": 3.0,
        "frequency": 2.0,
        "monetary": {"amount": "100.00"},
    }
    classes = {c["class"]: c for c in summary["classes"]}
    assert list(classes) == [
        "IMPORTANT_VALUE",
        "IMPORTANT_DEVELOP",
        "IMPORTANT_RETAIN",
        "IMPORTANT_WINBACK",
        "GENERAL_VALUE",
        "GENERAL_DEVELOP",
        "GENERAL_RETAIN",
        "GENERAL_WINBACK",
    ]
    assert classes["IMPORTANT_DEVELOP"] == {
        "class": "IMPORTANT_DEVELOP",
        "displayName": "重要发展客户",
        "count": 1,
        "revenue": money("150.00"),
        "meanRecency": 1.0,
        "meanFrequency": 2.0,
        "meanMonetary": {"amount": "150.00"},
    }
    assert classes["GENERAL_WINBACK"] == {
        "class": "GENERAL_WINBACK",
        "displayName": "一般挽留客户",
        "count": 2,
        "revenue": money("150.00"),
        "meanRecency": 3.0,
        "meanFrequency": 1.5,
        "meanMonetary": {"amount": "75.00"},
    }
    assert classes["GENERAL_RETAIN"]["count"] == 1
    assert classes["IMPORTANT_VALUE"] == {
        "class": "IMPORTANT_VALUE",
        "displayName": "重要价值客户",
        "count": 0,
        "revenue": money("0.00"),
        "meanRecency": None,
        "meanFrequency": None,
        "meanMonetary": None,
    }
    assert sum(c["count"] for c in classes.values()) == summary["populationSize"]


async def test_rfm_summary_with_the_median_cut_from_the_program(gql, database) -> None:
    await build_history(database, MEDIAN_CUSTOMERS, MEDIAN_ORDERS)
    async with database.sessions() as session:
        await SqlProgramRepository(session, ProgramSettings()).save(
            ProgramSettings(rfm_cut=RfmCut.MEDIAN)
        )
        await session.commit()

    summary = (await gql(RFM_SUMMARY, {"asOf": AS_OF}))["rfmSummary"]
    assert summary["cuts"] == {
        "median": True,
        "recency": 7.0,
        "frequency": 1.5,
        "monetary": {"amount": "32.50"},
    }
    counts = {c["class"]: c["count"] for c in summary["classes"] if c["count"]}
    assert counts == {
        "IMPORTANT_VALUE": 1,
        "IMPORTANT_DEVELOP": 1,
        "GENERAL_VALUE": 1,
        "GENERAL_RETAIN": 1,
        "GENERAL_WINBACK": 1,
        "IMPORTANT_WINBACK": 1,
    }
    u = (await gql(CUSTOMER, {"externalId": "u", "asOf": AS_OF}))["customer"]["rfm"]
    assert (u["rScore"], u["fScore"], u["mScore"], u["class"]) == (1, 1, 3, "IMPORTANT_WINBACK")


async def test_rfm_summary_with_a_lookback_and_nobody_in_it(gql, database) -> None:
    await build_history(database, MEAN_CUSTOMERS, MEAN_ORDERS)
    early = (T - 100 * D).isoformat()
    summary = (await gql(RFM_SUMMARY, {"asOf": early, "lookbackDays": 30}))["rfmSummary"]
    assert summary["populationSize"] == 0
    assert summary["lookbackDays"] == 30
    assert summary["cuts"] == {
        "median": False,
        "recency": None,
        "frequency": None,
        "monetary": None,
    }
    assert all(c["count"] == 0 for c in summary["classes"])


async def test_summaries_need_metrics_read(gql, database) -> None:
    await build_history(database, MEAN_CUSTOMERS, MEAN_ORDERS)
    analyst = gql.as_key(await make_key(database, Role.ANALYST))
    storefront = gql.as_key(await make_key(database, Role.STOREFRONT))

    assert (await analyst(LIFECYCLE_SUMMARY, {"asOf": AS_OF}))["lifecycleSummary"]["total"] == 5
    assert (await analyst(RFM_SUMMARY, {"asOf": AS_OF}))["rfmSummary"]["populationSize"] == 4
    for query in (LIFECYCLE_SUMMARY, RFM_SUMMARY):
        body = await storefront.raw(query, {"asOf": AS_OF})
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # A customer's own stage and RFM only need customers:read.
    c = (await storefront(CUSTOMER, {"externalId": "c", "asOf": AS_OF}))["customer"]
    assert c["lifecycleStage"] == "ACTIVE"
    assert c["rfm"]["class"] == "GENERAL_RETAIN"


async def test_bad_arguments_are_refused(gql, database) -> None:
    await build_history(database, MEAN_CUSTOMERS, MEAN_ORDERS)
    body = await gql.raw(RFM_SUMMARY, {"asOf": AS_OF, "lookbackDays": 0})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    body = await gql.raw(LIFECYCLE_SUMMARY, {"asOf": "2024-03-20T12:00:00"})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


PAGE = """
query($asOf: DateTime) {
  customers(first: 50) {
    nodes { externalId lifecycleStage(asOf: $asOf) rfm(asOf: $asOf) { class }
            now: lifecycleStage }
  }
}"""


async def test_a_page_of_customers_costs_a_constant_number_of_statements(gql, database) -> None:
    names = [f"p{i:02d}" for i in range(45)]
    await build_history(
        database,
        ["first", "second", "third"],
        [Order("first", T - D, "10.00"), Order("second", T - 40 * D, "20.00")],
    )

    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # noqa: ANN001
        statements.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", count)
    try:
        small = await gql(PAGE, {"asOf": AS_OF})
        small_count = len(statements)
        await build_history(
            database, names, [Order(name, T - (i + 1) * D, "5.00") for i, name in enumerate(names)]
        )
        statements.clear()
        large = await gql(PAGE, {"asOf": AS_OF})
        large_count = len(statements)
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", count)

    assert len(small["customers"]["nodes"]) == 3
    assert len(large["customers"]["nodes"]) == 48
    assert large_count == small_count, (small_count, large_count)
    stages = {n["externalId"]: n["lifecycleStage"] for n in large["customers"]["nodes"]}
    assert (stages["first"], stages["second"], stages["third"]) == ("NEW", "SILENT", "PROSPECT")
    assert stages["p00"] == "NEW" and stages["p44"] == "SILENT"


async def test_node_ids_are_not_needed_to_read_stages(gql, database) -> None:
    ids = await build_history(database, ["solo"], [Order("solo", T - D, "1.00")])
    data = await gql(
        "query($id: ID!, $asOf: DateTime) { node(id: $id) { ... on Customer {"
        " lifecycleStage(asOf: $asOf) rfm(asOf: $asOf) { rScore fScore mScore class } } } }",
        {"id": global_ids.encode("Customer", ids["solo"]), "asOf": AS_OF},
    )
    # A population of one: nobody is worse, every score is 1; R = mean, F = mean, M = mean.
    assert data["node"] == {
        "lifecycleStage": "NEW",
        "rfm": {"rScore": 1, "fScore": 1, "mScore": 1, "class": "GENERAL_WINBACK"},
    }
