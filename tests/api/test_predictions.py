"""Predicted value over GraphQL: the fit in use, each customer's prediction (one
batch for a page, whatever its size), the calibration report, and the segment
fields `p_alive` and `predicted_clv`."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.predictions.model import WEEK_DAYS, clv, expected_purchases
from domain.predictions.service import PREDICTIONS, fit_and_store
from persistence.database import Database
from persistence.unit_of_work import SqlUnitOfWork
from tests.api.ledger_calls import order_input
from tests.api.test_customer_page_statements import StatementCounter
from tests.predictions_history import START, random_orders

BULK = """
mutation($inputs: [OrderRecordInput!]!) {
  ordersRecordBulk(inputs: $inputs) { results { userErrors { code } } userErrors { code } }
}"""

MODEL = """{ predictionModel {
  fittedAt asOf logLikelihood customers repeatBuyers converged spendModelMessage
  params { r alpha a b p q v } } }"""

PAGE = """
query($first: Int!) { customers(first: $first) { edges { node {
  externalId
  prediction {
    pAlive frequency
    expectedPurchases
    nextMonth: expectedPurchases(days: 30)
    predictedClv { amount currency }
    undiscounted: predictedClv(days: 365, annualDiscountRate: 0) { amount }
  }
} } } }"""

PREVIEW = """query($rule: String!) {
  segmentPreview(rule: $rule, first: 100) { count customers { externalId } errors { message } } }"""

AS_OF = START + timedelta(days=360)


async def record_history(gql) -> None:  # noqa: ANN001
    inputs = [
        order_input(
            f"o-{i}", amount, customer=f"buyer-{number:02}", placed_at=placed_at.isoformat()
        )
        for i, (number, placed_at, amount) in enumerate(random_orders())
    ]
    data = await gql(BULK, {"inputs": inputs})
    assert all(r["userErrors"] == [] for r in data["ordersRecordBulk"]["results"])


async def fit(database: Database):  # noqa: ANN201
    stored = await fit_and_store(lambda: SqlUnitOfWork(database), AS_OF, AS_OF)
    assert stored.converged, stored.message
    return stored


async def stored_predictions(database: Database) -> dict:
    async with SqlUnitOfWork(database) as uow:
        repo = uow.repo(PREDICTIONS)
        return await repo.predictions_of(list(range(1, 100)))


async def test_the_model_in_use_and_each_customers_prediction(gql, database):
    assert (await gql(MODEL))["predictionModel"] is None
    await record_history(gql)
    before = (await gql(PAGE, {"first": 50}))["customers"]["edges"]
    assert [e["node"]["prediction"] for e in before] == [None] * 40  # no fit yet
    stored = await fit(database)

    model = (await gql(MODEL))["predictionModel"]
    assert model["customers"] == 40 and model["converged"] is True
    assert model["asOf"].startswith("2026-01-01")
    assert model["params"]["r"] == pytest.approx(stored.bgnbd.r)
    assert model["params"]["q"] == pytest.approx(stored.gamma_gamma.q)
    assert model["logLikelihood"] == pytest.approx(stored.log_likelihood)
    assert model["spendModelMessage"] == "converged"

    nodes = [e["node"] for e in (await gql(PAGE, {"first": 50}))["customers"]["edges"]]
    assert len(nodes) == 40 and all(n["prediction"] is not None for n in nodes)
    by_frequency = {}
    for p in (await stored_predictions(database)).values():
        by_frequency.setdefault(p.frequency, p)
    # One customer checked against the closed forms over its stored statistics.
    node = next(n for n in nodes if n["prediction"]["frequency"] == max(by_frequency))
    p = by_frequency[max(by_frequency)]
    shown = node["prediction"]
    assert shown["pAlive"] == pytest.approx(p.p_alive)
    assert shown["expectedPurchases"] == pytest.approx(p.expected_purchases)
    month = float(expected_purchases(stored.bgnbd, 30 / WEEK_DAYS, p.frequency, p.recency, p.age))
    assert shown["nextMonth"] == pytest.approx(month)
    assert shown["predictedClv"] == {"amount": str(p.predicted_clv), "currency": "CNY"}
    flat = clv(
        stored.bgnbd, stored.gamma_gamma, 365, 0.0, p.frequency, p.recency, p.age, float(p.monetary)
    )
    assert float(shown["undiscounted"]["amount"]) == pytest.approx(float(flat), abs=0.006)
    assert float(shown["undiscounted"]["amount"]) > float(shown["predictedClv"]["amount"])


async def test_a_page_of_predictions_costs_the_same_statements_at_any_size(gql, database):
    await record_history(gql)
    await fit(database)
    with StatementCounter(database.engine) as small:
        await gql(PAGE, {"first": 5})
    with StatementCounter(database.engine) as large:
        await gql(PAGE, {"first": 40})
    assert small.count == large.count


async def test_bad_horizons_and_rates_are_refused_by_name(gql, database):
    await record_history(gql)
    await fit(database)
    body = await gql.raw(
        "{ customers(first: 1) { edges { node { prediction { expectedPurchases(days: 0) } } } } }"
    )
    assert "days must be 1 to 3660" in body["errors"][0]["message"]
    body = await gql.raw(
        "{ customers(first: 1) { edges { node { prediction { "
        "predictedClv(annualDiscountRate: -0.5) { amount } } } } } }"
    )
    assert "annualDiscountRate must be 0 to 10" in body["errors"][0]["message"]


async def test_calibration_over_a_holdout(gql, clock):
    await record_history(gql)
    query = """query($cutoff: DateTime!, $days: Int!) {
      predictionCalibration(cutoff: $cutoff, holdoutDays: $days) {
        customers converged predictedPurchases actualPurchases meanAbsoluteError
        byFrequency { frequency orMore customers predicted actual } } }"""
    data = await gql(query, {"cutoff": AS_OF.isoformat(), "days": 150})
    report = data["predictionCalibration"]
    assert report["converged"] and report["customers"] == 40
    assert report["actualPurchases"] > 0
    assert sum(r["customers"] for r in report["byFrequency"]) == 40
    assert report["byFrequency"][0]["frequency"] == 0
    late = (clock.now() + timedelta(days=1)).isoformat()
    body = await gql.raw(query, {"cutoff": late, "days": 30})
    assert "after now" in body["errors"][0]["message"]
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_segments_on_p_alive_and_predicted_clv(gql, database):
    await record_history(gql)
    await fit(database)
    predictions = await stored_predictions(database)
    lapsing = {i for i, p in predictions.items() if p.p_alive < 0.3}
    assert lapsing
    data = (await gql(PREVIEW, {"rule": "p_alive < 0.3"}))["segmentPreview"]
    assert data["count"] == len(lapsing)
    # The win-back list: probably gone, and had spent a lot.
    rule = "p_alive < 0.3 AND total_spent > 150"
    data = (await gql(PREVIEW, {"rule": rule}))["segmentPreview"]
    assert data["errors"] == [] and 0 < data["count"] <= len(lapsing)
    valuable = {i for i, p in predictions.items() if p.predicted_clv > 100}
    data = (await gql(PREVIEW, {"rule": "predicted_clv > 100"}))["segmentPreview"]
    assert data["count"] == len(valuable)
    # NOT is the exact complement.
    data = (await gql(PREVIEW, {"rule": "NOT predicted_clv > 100"}))["segmentPreview"]
    assert data["count"] == 40 - len(valuable)
    refused = (await gql(PREVIEW, {"rule": "p_alive > 1.5"}))["segmentPreview"]
    assert "p_alive goes from 0 to 1" in refused["errors"][0]["message"]


async def test_an_erased_customer_shows_no_prediction(gql, database):
    await record_history(gql)
    await fit(database)
    query = "{ customers(first: 1) { edges { node { id prediction { pAlive } } } } }"
    node = (await gql(query))["customers"]["edges"][0]["node"]
    assert node["prediction"] is not None
    erase = """mutation($input: CustomerEraseInput!) {
      customerErase(input: $input) { customer { prediction { pAlive } } userErrors { code } } }"""
    data = await gql(erase, {"input": {"id": node["id"]}})
    assert data["customerErase"] == {"customer": {"prediction": None}, "userErrors": []}
