"""Last-touch attribution inside the order path: a counted order within
attributionDays after a customer's first SENT converts and is attributed to the
campaign last sent before it; refunds follow."""

from __future__ import annotations

from datetime import timedelta

from tests.api.campaign_calls import (
    attribution,
    funnel,
    new_campaign,
    new_customer,
    new_segment,
    order,
    orders_bulk,
    record_touchpoints,
    refund,
    start,
    touch,
)
from tests.api.ledger_calls import order_input


async def _plain_campaign(gql, segment: str, starts, name: str, days: int = 7) -> str:  # noqa: ANN001
    campaign = await new_campaign(
        gql,
        segment,
        starts,
        name=name,
        variants=[{"name": "only"}],
        holdoutShare="0",
        attributionDays=days,
    )
    assert (await start(gql, campaign["id"]))["userErrors"] == []
    return campaign["id"]


async def _sent(gql, campaign: str, customer: str, at, key: str) -> None:  # noqa: ANN001
    payload = await record_touchpoints(gql, [touch(campaign, customer, "only", "SENT", at, key)])
    assert payload["results"][0]["userErrors"] == [], payload


async def test_the_window_is_first_sent_included_to_attribution_days_later_excluded(gql, clock):
    segment = await new_segment(gql)
    await new_customer(gql, "c-1")
    t0 = clock.at
    campaign = await _plain_campaign(gql, segment, t0 - timedelta(hours=1), "七日窗")
    first = t0 + timedelta(hours=1)
    clock.at = t0 + timedelta(days=10)
    await _sent(gql, campaign, "c-1", first, "s-1")
    await _sent(gql, campaign, "c-1", first + timedelta(days=3), "s-2")  # no new window
    before = await order(gql, "o-before", "c-1", "100.00", first - timedelta(seconds=1))
    at_send = await order(gql, "o-at", "c-1", "100.00", first)
    last_in = await order(gql, "o-last", "c-1", "100.00", first + timedelta(days=7, seconds=-1))
    at_end = await order(gql, "o-end", "c-1", "100.00", first + timedelta(days=7))

    assert await attribution(gql, before["id"]) is None
    expected = {"variant": "only", "campaign": {"id": campaign, "name": "七日窗"}}
    assert await attribution(gql, at_send["id"]) == expected
    assert await attribution(gql, last_in["id"]) == expected
    assert await attribution(gql, at_end["id"]) is None
    (arm,) = (await funnel(gql, campaign))["funnel"]
    assert (arm["sent"], arm["ordered"], arm["attributedOrders"]) == (1, 1, 2)
    assert arm["attributedRevenue"] == {"amount": "200.00", "currency": "CNY"}


async def test_the_last_campaign_sent_before_the_order_gets_it(gql, clock):
    segment = await new_segment(gql)
    await new_customer(gql, "c-1")
    t0 = clock.at
    spring = await _plain_campaign(gql, segment, t0 - timedelta(hours=1), "spring")
    flash = await _plain_campaign(gql, segment, t0 - timedelta(hours=1), "flash", days=1)
    clock.at = t0 + timedelta(days=10)
    await _sent(gql, spring, "c-1", t0 + timedelta(hours=1), "spring-1")
    await _sent(gql, flash, "c-1", t0 + timedelta(hours=5), "flash-1")
    await _sent(gql, spring, "c-1", t0 + timedelta(hours=9), "spring-2")

    placed = [
        ("between", t0 + timedelta(hours=3)),  # only spring was sent yet
        ("after-flash", t0 + timedelta(hours=6)),  # flash is the last SENT
        ("after-spring-again", t0 + timedelta(hours=10)),  # spring's later SENT is last
        ("flash-closed", t0 + timedelta(days=2)),  # flash's 1-day window is closed
    ]
    # Recorded together: one batch, one attribution statement.
    orders = await orders_bulk(
        gql,
        [
            order_input(name, "50.00", customer="c-1", placed_at=at.isoformat())
            for name, at in placed
        ],
    )
    names = [(await attribution(gql, o["id"]))["campaign"]["name"] for o in orders]
    assert names == ["spring", "flash", "spring", "spring"]
    # Both campaigns count the customer as converted; only last touch takes the order.
    assert (await funnel(gql, flash))["funnel"][0]["ordered"] == 1
    assert (await funnel(gql, flash))["funnel"][0]["attributedOrders"] == 1
    assert (await funnel(gql, spring))["funnel"][0]["attributedOrders"] == 3


async def test_refunds_take_revenue_and_whole_orders_out_of_the_campaign(gql, clock):
    segment = await new_segment(gql)
    await new_customer(gql, "c-1")
    await new_customer(gql, "c-2")
    t0 = clock.at
    campaign = await _plain_campaign(gql, segment, t0 - timedelta(hours=1), "refunds")
    clock.at = t0 + timedelta(days=3)
    await _sent(gql, campaign, "c-1", t0, "s-1")
    await _sent(gql, campaign, "c-2", t0, "s-2")
    await order(gql, "o-1", "c-1", "300.00", t0 + timedelta(days=1))
    kept = await order(gql, "o-2", "c-2", "200.00", t0 + timedelta(days=1))
    (arm,) = (await funnel(gql, campaign))["funnel"]
    assert (arm["ordered"], arm["attributedOrders"], arm["attributedRevenue"]["amount"]) == (
        2,
        2,
        "500.00",
    )

    await refund(gql, "o-1", "100.00", "r-1")  # partial: revenue down, still a conversion
    (arm,) = (await funnel(gql, campaign))["funnel"]
    assert (arm["ordered"], arm["attributedOrders"], arm["attributedRevenue"]["amount"]) == (
        2,
        2,
        "400.00",
    )
    await refund(gql, "o-2", "200.00", "r-2")  # in full: no longer a conversion
    (arm,) = (await funnel(gql, campaign))["funnel"]
    assert (arm["ordered"], arm["attributedOrders"], arm["attributedRevenue"]["amount"]) == (
        1,
        1,
        "200.00",
    )
    assert arm["conversionRate"] == "0.500000"
    assert (await attribution(gql, kept["id"]))["campaign"]["id"] == campaign


async def test_flagged_sends_attribute_nothing(gql, clock):
    segment = await new_segment(gql)
    await new_customer(gql, "in")
    t0 = clock.at
    campaign = await _plain_campaign(gql, segment, t0 - timedelta(hours=1), "flags")
    await new_customer(gql, "late")  # joined the segment after the start
    clock.at = t0 + timedelta(days=2)
    payload = await record_touchpoints(gql, [touch(campaign, "late", "only", "SENT", t0, "s-1")])
    assert payload["results"][0]["touchpoint"]["flag"] == "OUTSIDE_AUDIENCE"
    placed = await order(gql, "o-1", "late", "80.00", t0 + timedelta(days=1))
    assert await attribution(gql, placed["id"]) is None
    assert (await funnel(gql, campaign))["funnel"][0]["sent"] == 0
