"""Campaigns and merging together: what B was sent and what it bought under a campaign
counts for A after B is merged into A, and a POS card names the customer of a
touchpoint like any other way of naming one."""

from __future__ import annotations

from datetime import timedelta

from tests.api.campaign_calls import (
    attribution,
    audience,
    funnel,
    new_customer,
    new_segment,
    order,
    record_touchpoints,
    touch,
)
from tests.api.test_campaign_attribution import _plain_campaign, _sent
from tests.api.test_identities import CARD, attach
from tests.api.test_merging import MERGE


async def test_bs_send_and_order_count_for_a_after_the_merge(gql, clock):
    segment = await new_segment(gql)
    a = await new_customer(gql, "shop-a")
    b = await new_customer(gql, "pos-b")
    t0 = clock.at
    campaign = await _plain_campaign(gql, segment, t0 - timedelta(hours=1), "回购")
    clock.at = t0 + timedelta(days=2)
    await _sent(gql, campaign, "pos-b", t0 + timedelta(hours=1), "s-b")
    bought = await order(gql, "o-b", "pos-b", "80.00", t0 + timedelta(hours=5))
    assert set(await audience(gql, campaign)) == {"shop-a", "pos-b"}

    merged = await gql(MERGE, {"input": {"survivor": a, "merged": b, "idempotencyKey": "m"}})
    assert merged["customerMerge"]["userErrors"] == []

    assert set(await audience(gql, campaign)) == {"shop-a"}
    assert (await attribution(gql, bought["id"]))["campaign"]["id"] == campaign
    (arm,) = (await funnel(gql, campaign))["funnel"]
    assert (arm["audience"], arm["sent"], arm["ordered"], arm["attributedOrders"]) == (1, 1, 1, 1)
    # B's externalId and A's card both name A in a touchpoint now.
    assert (await attach(gql, {"id": a}, CARD))["userErrors"] == []
    later = t0 + timedelta(hours=6)
    by_card = touch(campaign, "pos-b", "only", "OPENED", later, "o-1")
    by_card["customer"] = {"identity": CARD}
    recorded = await record_touchpoints(
        gql, [touch(campaign, "pos-b", "only", "DELIVERED", later, "d-1"), by_card]
    )
    assert [r["userErrors"] for r in recorded["results"]] == [[], []]
    (arm,) = (await funnel(gql, campaign))["funnel"]
    assert (arm["delivered"], arm["opened"]) == (1, 1)
