"""Campaigns over GraphQL: a marketer defines one on a saved segment, starts it (the
audience is frozen with each member's arm), and a sending system pages through the
audience and reports touchpoints."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from api import ids
from domain.access import Role
from domain.campaigns import Variant, arm_of, thresholds
from tests.api.campaign_calls import (
    ARCHIVE,
    CAMPAIGNS,
    CREATE,
    DELETE_SEGMENT,
    UPDATE,
    VARIANT_FOR,
    audience,
    campaign_input,
    codes,
    new_campaign,
    new_customer,
    new_segment,
    record_touchpoints,
    start,
    touch,
)
from tests.api.coupon_calls import new_template
from tests.conftest import make_key


async def test_a_marketer_defines_updates_lists_and_archives_a_campaign(gql, clock):
    segment = await new_segment(gql)
    coupon = await new_template(gql)
    begins = clock.at + timedelta(days=1)
    created = await new_campaign(
        gql,
        segment,
        begins,
        variants=[
            {"name": "A", "weight": 3},
            {"name": "B", "weight": 1, "couponTemplateId": coupon["id"]},
        ],
    )
    assert created["channel"] == "WECHAT" and created["isAbTest"] is True
    assert created["attributionDays"] == 7 and created["holdoutShare"] == "0.2000"
    assert created["segment"]["id"] == segment and created["startedAt"] is None
    assert [v["weight"] for v in created["variants"]] == [3, 1]
    assert created["variants"][1]["couponTemplate"]["id"] == coupon["id"]

    changed = await gql(
        UPDATE,
        {
            "input": {
                "id": created["id"],
                "name": "春季回购 2",
                "attributionDays": 3,
                "endsAt": None,
            }
        },
    )
    campaign = changed["campaignUpdate"]["campaign"]
    assert (campaign["name"], campaign["attributionDays"]) == ("春季回购 2", 3)

    plain = await new_campaign(gql, segment, begins, variants=[{"name": "only"}], holdoutShare="0")
    assert plain["isAbTest"] is False
    listed = (await gql(CAMPAIGNS, {"first": 1}))["campaigns"]
    assert listed["totalCount"] == 2 and listed["edges"][0]["node"]["id"] == plain["id"]
    rest = await gql(CAMPAIGNS, {"first": 1, "after": listed["pageInfo"]["endCursor"]})
    assert rest["campaigns"]["edges"][0]["node"]["id"] == created["id"]

    archived = (await gql(ARCHIVE, {"id": plain["id"]}))["campaignArchive"]
    assert archived["campaign"]["archivedAt"] is not None
    assert (await gql(CAMPAIGNS, {}))["campaigns"]["totalCount"] == 1
    assert (await gql(CAMPAIGNS, {"archived": True}))["campaigns"]["totalCount"] == 2


async def test_bad_campaign_input_names_each_field(gql, clock):
    segment = await new_segment(gql)
    bad = campaign_input(
        segment,
        clock.at,
        name=" ",
        holdoutShare="1",
        attributionDays=0,
        variants=[{"name": "A"}, {"name": "a"}, {"name": "HOLDOUT"}, {"name": "C", "weight": 0}],
    )
    refused = (await gql(CREATE, {"input": bad}))["campaignCreate"]
    assert refused["campaign"] is None
    assert {(tuple(e["field"]), e["code"]) for e in refused["userErrors"]} == {
        (("input", "name"), "REQUIRED"),
        (("input", "holdoutShare"), "INVALID"),
        (("input", "attributionDays"), "INVALID"),
        (("input", "variants", "1", "name"), "DUPLICATE"),
        (("input", "variants", "2", "name"), "INVALID"),
        (("input", "variants", "3", "weight"), "INVALID"),
    }
    none = await gql(CREATE, {"input": campaign_input(segment, clock.at, variants=[])})
    assert [e["field"] for e in none["campaignCreate"]["userErrors"]] == [["input", "variants"]]
    missing_template = campaign_input(
        segment,
        clock.at,
        variants=[{"name": "A", "couponTemplateId": ids.encode("CouponTemplate", 999)}],
    )
    refused = (await gql(CREATE, {"input": missing_template}))["campaignCreate"]
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [
        (["input", "variants", "0", "couponTemplateId"], "NOT_FOUND")
    ]
    built_in = campaign_input(ids.encode("BuiltInSegment", 1), clock.at)
    refused = (await gql(CREATE, {"input": built_in}))["campaignCreate"]
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [
        (["input", "segmentId"], "WRONG_TYPE")
    ]


async def test_a_campaign_on_a_deleted_segment_is_refused(gql, clock):
    segment = await new_segment(gql)
    campaign = await new_campaign(gql, segment, clock.at - timedelta(hours=1))
    await gql(DELETE_SEGMENT, {"id": segment})
    refused = (await gql(CREATE, {"input": campaign_input(segment, clock.at)}))["campaignCreate"]
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [
        (["input", "segmentId"], "NOT_FOUND")
    ]
    not_started = await start(gql, campaign["id"])
    assert [(e["field"], e["code"]) for e in not_started["userErrors"]] == [
        (["input", "segmentId"], "NOT_FOUND")
    ]


async def test_start_freezes_the_segment_with_each_members_arm(gql, clock):
    segment = await new_segment(gql)
    members = [await new_customer(gql, f"sh-{n}") for n in range(30)]
    await new_customer(gql, "bj-1", city="北京")
    campaign = await new_campaign(gql, segment, clock.at + timedelta(hours=1))
    early = await start(gql, campaign["id"])
    assert codes(early) == ["NOT_YET_VALID"]

    clock.at += timedelta(hours=2)
    started = await start(gql, campaign["id"])
    assert started["userErrors"] == [] and started["audienceSize"] == 30
    assert started["campaign"]["startedAt"] is not None
    # A customer who joins the segment later is not in the frozen audience.
    late = await new_customer(gql, "sh-late")
    again = await start(gql, campaign["id"])
    assert again["audienceSize"] is None and again["userErrors"] == []

    arms = await audience(gql, campaign["id"])
    assert len(arms) == 30 and "sh-late" not in arms and "bj-1" not in arms
    key = ids.decode(campaign["id"], "Campaign")
    bounds = thresholds(Decimal("0.2"), [Variant("A", 1), Variant("B", 1)])
    for n, member in enumerate(members):
        expected = arm_of(key, ids.decode(member, "Customer"), bounds)
        assert arms[f"sh-{n}"] == expected
        one = await gql(VARIANT_FOR, {"campaign": campaign["id"], "customer": member})
        assert one["campaignVariantFor"] == {
            "arm": expected,
            "holdout": expected == "HOLDOUT",
            "inAudience": True,
            "customer": {"id": member},
        }
    outsider = await gql(VARIANT_FOR, {"campaign": campaign["id"], "customer": late})
    assert outsider["campaignVariantFor"]["inAudience"] is False

    frozen = await gql(UPDATE, {"input": {"id": campaign["id"], "holdoutShare": "0.5"}})
    assert [(e["field"], e["code"]) for e in frozen["campaignUpdate"]["userErrors"]] == [
        (["input", "holdoutShare"], "READ_ONLY")
    ]


async def test_touchpoints_are_idempotent_flagged_and_refused_each_on_its_own(gql, clock, database):
    segment = await new_segment(gql)
    for n in range(12):
        await new_customer(gql, f"sh-{n}")
    outsider = "bj-1"
    await new_customer(gql, outsider, city="北京")
    campaign = await new_campaign(gql, segment, clock.at - timedelta(hours=1))
    before = await record_touchpoints(
        gql, [touch(campaign["id"], "sh-0", "A", "SENT", clock.at, "early")]
    )
    assert codes(before["results"][0]) == ["NOT_YET_VALID"]
    await start(gql, campaign["id"])
    started_at = clock.at
    clock.at += timedelta(hours=1)
    arms = await audience(gql, campaign["id"])
    sent_to = [c for c, arm in arms.items() if arm != "HOLDOUT"]
    held = [c for c, arm in arms.items() if arm == "HOLDOUT"]
    first = sent_to[0]
    other = "B" if arms[first] == "A" else "A"
    at = started_at + timedelta(minutes=5)
    inputs = [
        touch(campaign["id"], first, arms[first], "SENT", at, "k-1"),
        touch(campaign["id"], first, arms[first], "SENT", at, "k-1"),  # the same again
        touch(campaign["id"], outsider, "A", "SENT", at, "k-2"),
        touch(campaign["id"], first, "Z", "SENT", at, "k-3"),
        touch(
            campaign["id"], first, arms[first], "OPENED", started_at - timedelta(seconds=1), "k-4"
        ),
        touch(campaign["id"], "nobody", "A", "SENT", at, "k-5"),
        touch(campaign["id"], first, other, "DELIVERED", at, "k-6"),
        touch(campaign["id"], first, arms[first], "CLICKED", clock.at + timedelta(hours=1), "k-7"),
        {**touch(campaign["id"], first, arms[first], "SENT", at, "k-8"), "campaignId": "nope"},
    ]
    if held:
        inputs.append(touch(campaign["id"], held[0], "A", "SENT", at, "k-9"))
    payload = await record_touchpoints(gql, inputs)
    results = payload["results"]
    assert results[0]["userErrors"] == [] and results[0]["replayed"] is False
    assert results[0]["touchpoint"]["flag"] is None
    assert results[1]["replayed"] is True
    assert results[1]["touchpoint"]["id"] == results[0]["touchpoint"]["id"]
    assert results[2]["touchpoint"]["flag"] == "OUTSIDE_AUDIENCE"
    assert [(e["field"], e["code"]) for e in results[3]["userErrors"]] == [
        (["inputs", "3", "variant"], "NOT_FOUND")
    ]
    assert [(e["field"], e["code"]) for e in results[4]["userErrors"]] == [
        (["inputs", "4", "at"], "NOT_YET_VALID")
    ]
    assert [(e["field"], e["code"]) for e in results[5]["userErrors"]] == [
        (["inputs", "5", "customer", "externalId"], "NOT_FOUND")
    ]
    assert results[6]["touchpoint"]["flag"] == "OTHER_VARIANT"
    assert [(e["field"], e["code"]) for e in results[7]["userErrors"]] == [
        (["inputs", "7", "at"], "INVALID")
    ]
    assert [(e["field"], e["code"]) for e in results[8]["userErrors"]] == [
        (["inputs", "8", "campaignId"], "INVALID")
    ]
    if held:
        assert results[9]["touchpoint"]["flag"] == "HOLDOUT"

    replay = await record_touchpoints(gql, [inputs[0]])
    assert replay["results"][0]["replayed"] is True
    conflict = await record_touchpoints(
        gql, [touch(campaign["id"], first, arms[first], "OPENED", at, "k-1")]
    )
    assert codes(conflict["results"][0]) == ["IDEMPOTENCY_CONFLICT"]

    too_many = [touch(campaign["id"], first, "A", "SENT", at, f"m-{n}") for n in range(1001)]
    refused = await record_touchpoints(gql, too_many)
    assert refused["results"] == []
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [(["inputs"], "TOO_MANY")]

    storefront = gql.as_key(await make_key(database, Role.STOREFRONT))
    denied = await storefront.raw(
        "mutation($i: [TouchpointInput!]!) { touchpointsRecord(inputs: $i) { results { replayed } } }",
        {"i": [inputs[0]]},
    )
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    partner = gql.as_key(await make_key(database, Role.PARTNER))
    allowed = await record_touchpoints(partner, [inputs[0]])
    assert allowed["results"][0]["replayed"] is True


async def test_nothing_is_sent_after_the_end_but_what_follows_a_send_may_come_later(gql, clock):
    segment = await new_segment(gql)
    await new_customer(gql, "sh-1")
    t0 = clock.at
    campaign = await new_campaign(
        gql,
        segment,
        t0 - timedelta(hours=1),
        variants=[{"name": "only"}],
        holdoutShare="0",
        endsAt=(t0 + timedelta(days=1)).isoformat(),
    )
    await start(gql, campaign["id"])
    clock.at = t0 + timedelta(days=2)
    end = t0 + timedelta(days=1)
    payload = await record_touchpoints(
        gql,
        [
            touch(campaign["id"], "sh-1", "only", "SENT", end - timedelta(seconds=1), "s-1"),
            touch(campaign["id"], "sh-1", "only", "OPENED", end + timedelta(hours=1), "o-1"),
            touch(campaign["id"], "sh-1", "only", "SENT", end, "s-2"),
        ],
    )
    first, opened, late = payload["results"]
    assert first["userErrors"] == [] and opened["userErrors"] == []
    assert [(e["field"], e["code"]) for e in late["userErrors"]] == [
        (["inputs", "2", "at"], "EXPIRED")
    ]
