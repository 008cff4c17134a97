"""Coupons over GraphQL: a marketer defines and issues them, a storefront validates
and uses them at checkout, a shopper sees its own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.access import Role
from tests.api.coupon_calls import (
    CREATE_TEMPLATE,
    ISSUE_BULK,
    UPDATE_TEMPLATE,
    codes,
    coupons_of,
    issue,
    issued,
    new_customer,
    new_template,
    record_order,
    use,
    validate,
)
from tests.api.ledger_calls import REFUND
from tests.api.reward_calls import CANCEL, TOKEN, give_points, new_reward, redeem
from tests.conftest import make_key, utc


async def test_storefront_validates_then_uses_a_full_reduction_coupon(gql, database):
    shopper = await new_customer(gql, "shopper-1")
    template = await new_template(gql)
    coupon = await issued(gql, template["id"], shopper)
    storefront = gql.as_key(await make_key(database, Role.STOREFRONT))

    short = await validate(storefront, coupon["code"], "199.99")
    assert (short["applies"], short["reason"], short["discount"]) == (
        False,
        "MIN_SPEND_NOT_MET",
        None,
    )
    exact = await validate(storefront, coupon["code"].lower().replace("-", ""), "200.00")
    assert exact["applies"] is True and exact["reason"] is None
    assert exact["discount"] == {"amount": "30.00", "currency": "CNY"}

    used = await use(storefront, coupon["code"], "order-1")
    assert used["userErrors"] == []
    assert (used["coupon"]["status"], used["coupon"]["orderExternalId"]) == ("USED", "order-1")
    again = await use(storefront, coupon["code"], "order-1")
    assert again["replayed"] is True and again["userErrors"] == []
    other = await use(storefront, coupon["code"], "order-2")
    assert codes(other) == ["ALREADY_USED"]
    after = await validate(storefront, coupon["code"], "500")
    assert after["reason"] == "ALREADY_USED"
    unknown = await validate(storefront, "AAAA-BBBB-CCCCC", "500")
    assert (unknown["reason"], unknown["coupon"]) == ("NOT_FOUND", None)


async def test_a_coupon_of_another_customer_is_not_eligible_at_their_checkout(gql):
    owner = await new_customer(gql, "owner")
    someone = await new_customer(gql, "someone")
    coupon = await issued(gql, (await new_template(gql))["id"], owner)
    answer = await validate(gql, coupon["code"], "300", customerId=someone)
    assert answer["reason"] == "NOT_ELIGIBLE"
    assert (await validate(gql, coupon["code"], "300", customerId=owner))["applies"] is True


async def test_fixed_window_edges(gql, clock):
    start, end = utc(2026, 7, 1), utc(2026, 7, 8)
    clock.at = start - timedelta(days=1)
    shopper = await new_customer(gql, "window")
    template = await new_template(
        gql, validDays=None, validFrom=start.isoformat(), validUntil=end.isoformat()
    )
    coupon = await issued(gql, template["id"], shopper)
    assert (coupon["validFrom"], coupon["validUntil"]) == (
        "2026-07-01T00:00:00+00:00",
        "2026-07-08T00:00:00+00:00",
    )
    for at, expected in [
        (start - timedelta(microseconds=1), "NOT_YET_VALID"),
        (start, None),
        (end - timedelta(microseconds=1), None),
        (end, "EXPIRED"),
    ]:
        clock.at = at
        assert (await validate(gql, coupon["code"], "250"))["reason"] == expected, at
    clock.at = end
    assert codes(await use(gql, coupon["code"], "late")) == ["EXPIRED"]
    assert (await coupons_of(gql, shopper))["nodes"][0]["status"] == "EXPIRED"


async def test_days_from_issue_end_at_the_next_local_midnight(gql, clock):
    await gql(
        'mutation { programUpdate(input: {timezone: "Asia/Shanghai"}) { userErrors { code } } }'
    )
    clock.at = datetime(2026, 7, 1, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
    shopper = await new_customer(gql, "welcome")
    template = await new_template(
        gql, kind="PERCENT_OFF", amountOff=None, minSpend=None, percentOff="10"
    )
    coupon = await issued(gql, template["id"], shopper)
    # 7 days later is 2026-07-08 23:30 local; the coupon runs to the midnight after it.
    assert coupon["validUntil"] == "2026-07-08T16:00:00+00:00"


async def test_percent_off_is_capped_and_free_kinds_say_what_they_give(gql):
    shopper = await new_customer(gql, "kinds")
    nine = await new_template(
        gql,
        name="9折 up to 50",
        kind="PERCENT_OFF",
        amountOff=None,
        minSpend=None,
        percentOff="10",
        maxDiscount="50",
    )
    code = (await issued(gql, nine["id"], shopper))["code"]
    assert (await validate(gql, code, "123.45"))["discount"]["amount"] == "12.35"  # half up
    assert (await validate(gql, code, "500.00"))["discount"]["amount"] == "50.00"
    assert (await validate(gql, code, "800.00"))["discount"]["amount"] == "50.00"

    gift = await new_template(
        gql, name="Free mug", kind="FREE_PRODUCT", amountOff=None, minSpend=None, productSku="MUG"
    )
    code = (await issued(gql, gift["id"], shopper, "gift"))["code"]
    items = [{"sku": "MUG", "quantity": 2, "unitPrice": "25.00"}]
    answer = await validate(gql, code, "80", items=items)
    assert (answer["discount"]["amount"], answer["freeProductSku"]) == ("25.00", "MUG")
    ship = await new_template(
        gql, name="Free shipping", kind="FREE_SHIPPING", amountOff=None, minSpend="99"
    )
    code = (await issued(gql, ship["id"], shopper, "ship"))["code"]
    answer = await validate(gql, code, "99")
    assert (answer["applies"], answer["freeShipping"], answer["discount"]["amount"]) == (
        True,
        True,
        "0.00",
    )


async def test_template_input_is_checked_and_terms_are_fixed(gql):
    bad = await gql(
        CREATE_TEMPLATE,
        {"input": {"name": "x", "kind": "PERCENT_OFF", "percentOff": "120", "amountOff": "5"}},
    )
    errors = {(tuple(e["field"]), e["code"]) for e in bad["couponTemplateCreate"]["userErrors"]}
    assert errors == {
        (("input", "percentOff"), "INVALID"),
        (("input", "amountOff"), "INVALID"),
        (("input", "validUntil"), "REQUIRED"),
    }
    template = await new_template(gql)
    changed = await gql(
        UPDATE_TEMPLATE,
        {"input": {"id": template["id"], "name": "满200减30 (VIP)", "totalLimit": 10}},
    )
    assert changed["couponTemplateUpdate"]["couponTemplate"]["name"] == "满200减30 (VIP)"
    assert changed["couponTemplateUpdate"]["couponTemplate"]["totalLimit"] == 10


async def test_per_customer_limit_and_idempotent_issue(gql):
    shopper = await new_customer(gql, "limited")
    template = await new_template(gql)
    first = await issue(gql, template["id"], shopper, "k-1")
    again = await issue(gql, template["id"], shopper, "k-1")
    assert again["replayed"] is True and again["coupon"]["id"] == first["coupon"]["id"]
    assert codes(await issue(gql, template["id"], shopper, "k-2")) == ["LIMIT_REACHED"]


async def test_win_back_coupon_to_the_silent_segment_issues_once(gql, clock):
    now = clock.at
    for i in range(3):  # last order 45 days ago: SILENT
        await record_order(gql, f"old-{i}", f"silent-{i}", now - timedelta(days=45))
    await record_order(gql, "fresh", "active-1", now - timedelta(days=2))
    segments = (await gql("{ segments { id name } }"))["segments"]
    silent = next(s["id"] for s in segments if s["name"] == "沉默客户")
    template = await new_template(gql, name="Win-back 满200减30", validDays=14)

    first = await gql(ISSUE_BULK, {"input": {"templateId": template["id"], "segmentId": silent}})
    assert first["couponIssueBulk"] == {
        "requested": 3,
        "issued": 3,
        "skipped": 0,
        "limitReached": False,
        "userErrors": [],
    }
    second = await gql(ISSUE_BULK, {"input": {"templateId": template["id"], "segmentId": silent}})
    assert (second["couponIssueBulk"]["issued"], second["couponIssueBulk"]["skipped"]) == (0, 3)
    listed = await gql(
        "{ customers(first: 10) { nodes { externalId coupons { totalCount nodes { code } } } } }"
    )
    held = {c["externalId"]: c["coupons"]["totalCount"] for c in listed["customers"]["nodes"]}
    assert held == {"silent-0": 1, "silent-1": 1, "silent-2": 1, "active-1": 0}
    all_codes = [n["code"] for c in listed["customers"]["nodes"] for n in c["coupons"]["nodes"]]
    assert len(set(all_codes)) == 3 and all(len(code) == 15 for code in all_codes)
    after = await gql(
        "query($id: ID!) { couponTemplate(id: $id) { issuedCount } }", {"id": template["id"]}
    )
    assert after["couponTemplate"]["issuedCount"] == 3


async def test_bulk_issue_to_a_list_stops_at_the_total_limit(gql):
    customers = [await new_customer(gql, f"listed-{i}") for i in range(4)]
    template = await new_template(gql, totalLimit=3)
    first = await gql(
        ISSUE_BULK,
        {"input": {"templateId": template["id"], "customerIds": customers[:2]}},
    )
    assert first["couponIssueBulk"]["issued"] == 2
    second = await gql(
        ISSUE_BULK, {"input": {"templateId": template["id"], "customerIds": customers}}
    )
    assert second["couponIssueBulk"] == {
        "requested": 4,
        "issued": 1,
        "skipped": 3,
        "limitReached": True,
        "userErrors": [],
    }
    both = await gql(
        ISSUE_BULK,
        {"input": {"templateId": template["id"], "customerIds": customers, "segmentId": "x"}},
    )
    assert codes(both["couponIssueBulk"]) == ["INVALID"]


async def test_a_tier_audience_refuses_customers_below_it(gql):
    silver = await gql(
        'mutation { tierCreate(input: {name: "Silver", rank: 2, threshold: "1000", earnMultiplier: "1"})'
        " { tier { id } userErrors { code } } }"
    )
    tier_id = silver["tierCreate"]["tier"]["id"]
    template = await new_template(gql, audience="TIER", audienceTierId=tier_id)
    shopper = await new_customer(gql, "bronze")
    assert codes(await issue(gql, template["id"], shopper)) == ["NOT_ELIGIBLE"]
    opened = await gql(UPDATE_TEMPLATE, {"input": {"id": template["id"], "audience": "ANY"}})
    assert opened["couponTemplateUpdate"]["couponTemplate"]["audience"] == "ANY"
    assert (await issue(gql, template["id"], shopper, "again"))["userErrors"] == []


async def test_points_buy_a_coupon_through_reward_redeem(gql):
    shopper = await new_customer(gql, "buyer")
    await give_points(gql, shopper, 500, "seed")
    template = await new_template(gql, name="满100减10", amountOff="10", minSpend="100")
    reward = await new_reward(
        gql, name="满100减10 coupon", pointsCost=200, kind="COUPON", couponTemplateId=template["id"]
    )
    result = await redeem(gql, shopper, reward["id"], "buy-1")
    assert result["userErrors"] == []
    assert result["customer"]["points"]["available"] == 300
    held = await coupons_of(gql, shopper)
    assert held["totalCount"] == 1
    assert held["nodes"][0]["template"]["id"] == template["id"]
    bought = await gql(
        "query($id: ID!) { node(id: $id) { ... on Redemption { coupon { code template { id } } } } }",
        {"id": result["redemption"]["id"]},
    )
    assert bought["node"]["coupon"] == {
        "code": held["nodes"][0]["code"],
        "template": {"id": template["id"]},
    }
    # The per-customer limit (1) refuses a second purchase, and no points are spent on it.
    second = await redeem(gql, shopper, reward["id"], "buy-2")
    assert [e["code"] for e in second["userErrors"]] == ["LIMIT_REACHED"]
    assert (await coupons_of(gql, shopper))["totalCount"] == 1
    # Cancelling the redemption gives the points back and withdraws the unused coupon.
    cancel = await gql(
        CANCEL, {"input": {"id": result["redemption"]["id"], "idempotencyKey": "c1"}}
    )
    assert cancel["redemptionCancel"]["userErrors"] == []
    assert cancel["redemptionCancel"]["customer"]["points"]["available"] == 500
    assert (await coupons_of(gql, shopper))["nodes"][0]["status"] == "REVOKED"
    code = (await coupons_of(gql, shopper))["nodes"][0]["code"]
    assert (await validate(gql, code, "500"))["reason"] == "REVOKED"
    # A coupon already used keeps its redemption: the cancellation is refused.
    again = await redeem(gql, shopper, reward["id"], "buy-3")
    assert again["userErrors"] == []
    fresh = (await coupons_of(gql, shopper))["nodes"][0]
    assert (await use(gql, fresh["code"], "order-9"))["userErrors"] == []
    refused = await gql(
        CANCEL, {"input": {"id": again["redemption"]["id"], "idempotencyKey": "c2"}}
    )
    assert codes(refused["redemptionCancel"]) == ["ALREADY_USED"]
    plain = await gql(
        'mutation { rewardCreate(input: {name: "x", pointsCost: 1, kind: COUPON}) '
        "{ userErrors { field code } } }"
    )
    assert plain["rewardCreate"]["userErrors"] == [
        {"field": ["input", "couponTemplateId"], "code": "REQUIRED"}
    ]


async def _used_then_refunded(gql, clock, name: str) -> dict:  # noqa: ANN001
    template = await new_template(gql, name=name)
    await record_order(gql, f"{name}-order", name, clock.at - timedelta(minutes=5))
    customers = await gql("{ customers(first: 100) { nodes { id externalId } } }")
    shopper = next(c["id"] for c in customers["customers"]["nodes"] if c["externalId"] == name)
    coupon = await issued(gql, template["id"], shopper)
    assert (await use(gql, coupon["code"], f"{name}-order"))["userErrors"] == []
    partial = await gql(
        REFUND,
        {
            "input": {
                "orderExternalId": f"{name}-order",
                "amount": "100.00",
                "idempotencyKey": f"{name}-r1",
            }
        },
    )
    assert partial["orderRefund"]["userErrors"] == []
    assert (await coupons_of(gql, shopper))["nodes"][0]["status"] == "USED"
    full = await gql(
        REFUND,
        {
            "input": {
                "orderExternalId": f"{name}-order",
                "amount": "200.00",
                "idempotencyKey": f"{name}-r2",
            }
        },
    )
    assert full["orderRefund"]["order"]["counted"] is False
    return await coupons_of(gql, shopper)


async def test_a_full_refund_restores_the_coupon_only_when_the_program_says_so(gql, clock):
    kept = await _used_then_refunded(gql, clock, "kept")
    assert kept["nodes"][0]["status"] == "USED"
    setting = await gql(
        "mutation { programUpdate(input: {couponRestoreOnRefund: true}) "
        "{ program { couponRestoreOnRefund } userErrors { code } } }"
    )
    assert setting["programUpdate"]["program"]["couponRestoreOnRefund"] is True
    restored = await _used_then_refunded(gql, clock, "restored")
    assert restored["nodes"][0]["status"] == "ISSUED"


async def test_a_token_reads_only_its_own_coupons(gql):
    mine = await new_customer(gql, "me")
    theirs = await new_customer(gql, "them")
    template = await new_template(gql)
    own = await issued(gql, template["id"], mine, "mine")
    await issued(gql, template["id"], theirs, "theirs")
    token = (await gql(TOKEN, {"customerId": mine}))["customerTokenCreate"]["token"]
    shopper = gql.as_key(token)
    data = await shopper(
        "{ me { coupons(first: 10) { totalCount nodes { id code status validUntil "
        "template { name kind amountOff minSpend } } } } }"
    )
    nodes = data["me"]["coupons"]["nodes"]
    assert data["me"]["coupons"]["totalCount"] == 1
    assert [(n["id"], n["code"], n["status"]) for n in nodes] == [
        (own["id"], own["code"], "ISSUED")
    ]
    filtered = await shopper("{ me { coupons(status: USED) { totalCount } } }")
    assert filtered["me"]["coupons"]["totalCount"] == 0
    # Nor another customer's coupon by its ID, nor any customer's Customer.coupons.
    other = await shopper.raw(
        "query($id: ID!) { node(id: $id) { id } }",
        {"id": (await coupons_of(gql, theirs))["nodes"][0]["id"]},
    )
    assert other["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    listed = await shopper.raw(
        "query($id: ID!) { node(id: $id) { ... on Customer { coupons { totalCount } } } }",
        {"id": mine},
    )
    assert listed["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    checkout = await shopper.raw(
        'mutation { couponUse(input: {code: "x", orderExternalId: "o"}) { userErrors { code } } }'
    )
    assert checkout["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_bad_cart_is_refused_naming_its_field(gql):
    coupon = await issued(gql, (await new_template(gql))["id"], await new_customer(gql, "cart"))
    for cart, words in [
        ({"amount": "-1"}, "amount must not be negative"),
        ({"amount": "10.001"}, "amount has more than 2 decimals"),
        ({"amount": "10", "items": [{"sku": "A", "quantity": 0, "unitPrice": "1"}]}, "quantity"),
    ]:
        body = await gql.raw(
            "query($input: CouponValidateInput!) { couponValidate(input: $input) { applies } }",
            {"input": {"code": coupon["code"], "cart": cart}},
        )
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
        assert words in body["errors"][0]["message"], body
