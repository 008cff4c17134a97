"""Two mutations in one document: each payload shows the customer as its own
mutation left it, not a copy the request's DataLoader cached earlier."""

from __future__ import annotations

from tests.api.reward_calls import new_customer, new_reward, redeem

TWO_REDEEMS = """
mutation($customer: ID!, $reward: ID!) {
  first: rewardRedeem(input: {customerId: $customer, rewardId: $reward, idempotencyKey: "a"}) {
    customer { points { available } } userErrors { code }
  }
  second: rewardRedeem(input: {customerId: $customer, rewardId: $reward, idempotencyKey: "b"}) {
    customer { points { available } } userErrors { code }
  }
}"""

TWO_CANCELS = """
mutation($one: ID!, $two: ID!) {
  first: redemptionCancel(input: {id: $one, idempotencyKey: "c1"}) {
    customer { points { available } } userErrors { code }
  }
  second: redemptionCancel(input: {id: $two, idempotencyKey: "c2"}) {
    customer { points { available } } userErrors { code }
  }
}"""


async def test_second_redeem_of_a_document_shows_both_spends(gql, database):
    shopper = await new_customer(gql, "fresh-1", points=500)
    reward = await new_reward(gql, name="Mug", pointsCost=100)
    data = await gql(TWO_REDEEMS, {"customer": shopper, "reward": reward["id"]})
    assert data["first"]["userErrors"] == [] and data["second"]["userErrors"] == []
    assert data["first"]["customer"]["points"]["available"] == 400
    assert data["second"]["customer"]["points"]["available"] == 300


async def test_second_cancel_of_a_document_shows_both_refunds(gql, database):
    shopper = await new_customer(gql, "fresh-2", points=500)
    reward = await new_reward(gql, name="Cap", pointsCost=100)
    one = (await redeem(gql, shopper, reward["id"], "r1"))["redemption"]["id"]
    two = (await redeem(gql, shopper, reward["id"], "r2"))["redemption"]["id"]
    data = await gql(TWO_CANCELS, {"one": one, "two": two})
    assert data["first"]["userErrors"] == [] and data["second"]["userErrors"] == []
    assert data["first"]["customer"]["points"]["available"] == 400
    assert data["second"]["customer"]["points"]["available"] == 500
