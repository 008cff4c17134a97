"""Identities and merging together: after B is merged into A, every way a POS or a
mini-program names B — its card, its phone, its e-mail — records on A."""

from __future__ import annotations

from tests.api.test_identities import BY_IDENTITY, CARD, ORDER, attach, order, upsert
from tests.api.test_merging import MERGE


async def test_a_merged_customers_card_phone_and_email_record_on_the_survivor(gql):
    a = await upsert(gql, "shop-a", phone="13800138000", email="li@example.com")
    b = await upsert(gql, "pos-b", phone="13800138000", email="li@example.com")
    assert (await attach(gql, {"id": b["id"]}, CARD))["userErrors"] == []
    merged = await gql(
        MERGE, {"input": {"survivor": a["id"], "merged": b["id"], "idempotencyKey": "m-1"}}
    )
    assert merged["customerMerge"]["userErrors"] == []
    assert merged["customerMerge"]["merge"]["identitiesMoved"] == 1

    found = (await gql(BY_IDENTITY, {"identity": CARD}))["customer"]
    assert (found["id"], found["externalId"]) == (a["id"], "shop-a")
    for n, ref in enumerate(
        ({"identity": CARD}, {"phone": "138 0013 8000"}, {"email": "LI@example.com"})
    ):
        recorded = (await gql(ORDER, {"input": order(f"o-{n}", ref)}))["orderRecord"]
        assert recorded["userErrors"] == [], ref  # B keeps its contacts: not ambiguous
        assert recorded["customer"]["id"] == a["id"]
    assert recorded["customer"]["ordersCount"] == 3
