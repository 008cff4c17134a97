"""One customer, many identities: a POS card, a WeChat openid per app, a marketplace id.

A till or a mini-program names the customer by the id it knows: attach it once, then
look the customer up or record an order by it. Phone and e-mail are lookup keys too.
"""

from __future__ import annotations

import asyncio

from tests.api.test_statement_count import counting

UPSERT = """mutation($input: CustomerUpsertInput!) {
  customerUpsert(input: $input) {
    created customer { id identities { type namespace value } }
    userErrors { field code message } } }"""
ATTACH = """mutation($input: CustomerIdentityAttachInput!) {
  customerIdentityAttach(input: $input) {
    attached customer { id } identity { type namespace value createdAt }
    userErrors { field code message } } }"""
DETACH = """mutation($input: CustomerIdentityDetachInput!) {
  customerIdentityDetach(input: $input) { customer { id } userErrors { field code message } } }"""
BY_IDENTITY = """query($identity: IdentityInput!) {
  customer(identity: $identity) { id externalId identities { type namespace value } } }"""
ORDER = """mutation($input: OrderRecordInput!) {
  orderRecord(input: $input) {
    order { id } customer { id ordersCount points { available } }
    userErrors { field code message } } }"""
BULK = """mutation($inputs: [OrderRecordInput!]!) {
  ordersRecordBulk(inputs: $inputs) {
    results { customer { id ordersCount } userErrors { field code } } userErrors { code } } }"""
ERASE = """mutation($id: ID!) { customerErase(input: {id: $id}) { userErrors { code } } }"""
PROGRAM = """mutation($input: ProgramUpdateInput!) {
  programUpdate(input: $input) { program { uniqueContactKeys } userErrors { field code } } }"""

OPENID = {"type": "WECHAT_OPENID", "namespace": "wx-mini-1", "value": "oAbC123"}
CARD = {"type": "POS_CARD", "value": "8800123"}


async def upsert(gql, external_id: str, **fields) -> dict:  # noqa: ANN003
    payload = (await gql(UPSERT, {"input": {"externalId": external_id, **fields}}))[
        "customerUpsert"
    ]
    assert payload["userErrors"] == [], payload
    return payload["customer"]


async def attach(gql, customer: dict, identity: dict) -> dict:
    return (await gql(ATTACH, {"input": {"customer": customer, "identity": identity}}))[
        "customerIdentityAttach"
    ]


def order(external_id: str, customer: dict, amount: str = "120.00") -> dict:
    return {
        "externalId": external_id,
        "customer": customer,
        "amount": amount,
        "currency": "CNY",
        "placedAt": "2026-03-02T10:00:00+00:00",
    }


async def test_attach_look_up_and_detach(gql):
    li = await upsert(gql, "shop-1", name="李娜")
    first = await attach(gql, {"externalId": "shop-1"}, OPENID)
    assert first["userErrors"] == []
    assert first["attached"] is True
    assert first["identity"]["value"] == "oAbC123"
    assert first["identity"]["namespace"] == "wx-mini-1"

    # The same identity again on the same customer: succeeds, changes nothing.
    again = await attach(gql, {"id": li["id"]}, {**OPENID, "value": "  oAbC123 "})
    assert again["userErrors"] == []
    assert again["attached"] is False
    assert again["identity"]["createdAt"] == first["identity"]["createdAt"]

    assert (await attach(gql, {"id": li["id"]}, CARD))["attached"] is True
    found = (await gql(BY_IDENTITY, {"identity": CARD}))["customer"]
    assert found["id"] == li["id"]
    assert found["identities"] == [
        {"type": "WECHAT_OPENID", "namespace": "wx-mini-1", "value": "oAbC123"},
        {"type": "POS_CARD", "namespace": None, "value": "8800123"},
    ]
    # The openid of another app is another identity: nobody holds it.
    other_app = {**OPENID, "namespace": "wx-official"}
    assert (await gql(BY_IDENTITY, {"identity": other_app}))["customer"] is None

    detached = await gql(DETACH, {"input": {"customer": {"id": li["id"]}, "identity": CARD}})
    assert detached["customerIdentityDetach"]["userErrors"] == []
    assert (await gql(BY_IDENTITY, {"identity": CARD}))["customer"] is None
    twice = await gql(DETACH, {"input": {"customer": {"id": li["id"]}, "identity": CARD}})
    assert twice["customerIdentityDetach"]["userErrors"][0]["code"] == "NOT_FOUND"
    assert twice["customerIdentityDetach"]["userErrors"][0]["field"] == [
        "input",
        "identity",
        "value",
    ]


async def test_an_identity_another_customer_holds_is_refused(gql):
    await upsert(gql, "shop-1")
    await upsert(gql, "shop-2")
    assert (await attach(gql, {"externalId": "shop-1"}, CARD))["userErrors"] == []
    taken = await attach(gql, {"externalId": "shop-2"}, CARD)
    assert taken["attached"] is False
    assert taken["customer"] is None
    assert taken["userErrors"] == [
        {
            "field": ["input", "identity", "value"],
            "code": "IDENTITY_TAKEN",
            "message": "Another customer holds POS_CARD '8800123'; detach it there first.",
        }
    ]
    # Detaching through the other customer is refused too: it is not theirs.
    refused = await gql(DETACH, {"input": {"customer": {"externalId": "shop-2"}, "identity": CARD}})
    assert refused["customerIdentityDetach"]["userErrors"][0]["code"] == "NOT_FOUND"
    assert (await gql(BY_IDENTITY, {"identity": CARD}))["customer"]["externalId"] == "shop-1"


async def test_namespace_rules_name_the_field(gql):
    await upsert(gql, "shop-1")
    cases = [
        ({"type": "WECHAT_OPENID", "value": "o1"}, "namespace", "REQUIRED"),
        ({"type": "CUSTOM", "value": "c1", "namespace": "  "}, "namespace", "REQUIRED"),
        ({"type": "POS_CARD", "value": "1", "namespace": "store-9"}, "namespace", "INVALID"),
        ({"type": "TMALL", "value": "   "}, "value", "REQUIRED"),
        ({"type": "JD", "value": "x" * 257}, "value", "TOO_LONG"),
        ({"type": "WECHAT_UNIONID", "value": "u\x07"}, "value", "INVALID"),
        ({"type": "CUSTOM", "value": "c1", "namespace": "n" * 65}, "namespace", "TOO_LONG"),
    ]
    for identity, field, code in cases:
        payload = await attach(gql, {"externalId": "shop-1"}, identity)
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
            (["input", "identity", field], code)
        ], identity
    # A CUSTOM identity lives in the brand's own namespace.
    crm = {"type": "CUSTOM", "namespace": "crm", "value": "M-77"}
    assert (await attach(gql, {"externalId": "shop-1"}, crm))["userErrors"] == []
    assert (await gql(BY_IDENTITY, {"identity": crm}))["customer"]["externalId"] == "shop-1"


async def test_customer_query_wants_exactly_one_key(gql):
    body = await gql.raw(
        """query($identity: IdentityInput!) { customer(externalId: "x", identity: $identity)
           { id } }""",
        {"identity": CARD},
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    body = await gql.raw(BY_IDENTITY, {"identity": {"type": "WECHAT_OPENID", "value": "o"}})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_upsert_attaches_identities_in_the_same_transaction(gql):
    created = await upsert(gql, "shop-1", identities=[CARD, OPENID, CARD])
    assert [i["type"] for i in created["identities"]] == ["POS_CARD", "WECHAT_OPENID"]
    # Upserting again with the same identities changes nothing; a new one is added.
    tmall = {"type": "TMALL", "value": "tb-99"}
    again = await upsert(gql, "shop-1", identities=[CARD, tmall])
    assert [i["type"] for i in again["identities"]] == ["POS_CARD", "WECHAT_OPENID", "TMALL"]

    # One identity held by someone else refuses the whole upsert: no customer is made.
    refused = (
        await gql(
            UPSERT,
            {
                "input": {
                    "externalId": "shop-2",
                    "name": "X",
                    "identities": [{"type": "JD", "value": "jd-1"}, CARD],
                }
            },
        )
    )["customerUpsert"]
    assert refused["customer"] is None
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [
        (["input", "identities", "1", "value"], "IDENTITY_TAKEN")
    ]
    missing = await gql("""{ customer(externalId: "shop-2") { id } }""")
    assert missing["customer"] is None
    nobody = await gql(BY_IDENTITY, {"identity": {"type": "JD", "value": "jd-1"}})
    assert nobody["customer"] is None

    bad = (
        await gql(
            UPSERT,
            {
                "input": {
                    "externalId": "shop-3",
                    "identities": [
                        {"type": "WECHAT_OPENID", "value": "o"},
                        {"type": "JD", "value": ""},
                    ],
                }
            },
        )
    )["customerUpsert"]
    assert sorted((tuple(e["field"]), e["code"]) for e in bad["userErrors"]) == [
        (("input", "identities", "0", "namespace"), "REQUIRED"),
        (("input", "identities", "1", "value"), "REQUIRED"),
    ]


async def test_order_recorded_by_pos_card(gql):
    li = await upsert(gql, "shop-1", identities=[CARD])
    payload = (await gql(ORDER, {"input": order("pos-1", {"identity": CARD})}))["orderRecord"]
    assert payload["userErrors"] == []
    assert payload["customer"]["id"] == li["id"]
    assert payload["customer"]["ordersCount"] == 1
    assert payload["customer"]["points"]["available"] == 120
    # The same order again by the same card replays it.
    replay = (await gql(ORDER, {"input": order("pos-1", {"identity": CARD})}))["orderRecord"]
    assert replay["userErrors"] == []
    assert replay["customer"]["ordersCount"] == 1

    unknown = {"type": "POS_CARD", "value": "0000"}
    refused = (await gql(ORDER, {"input": order("pos-2", {"identity": unknown})}))["orderRecord"]
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [
        (["input", "customer", "identity"], "NOT_FOUND")
    ]
    both = {"externalId": "shop-1", "identity": CARD}
    refused = (await gql(ORDER, {"input": order("pos-3", both)}))["orderRecord"]
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [
        (["input", "customer", "identity"], "INVALID")
    ]


async def test_bulk_resolves_identities_phones_and_emails(gql):
    a = await upsert(gql, "shop-a", identities=[CARD])
    b = await upsert(gql, "shop-b", phone="138 0013 8000", identities=[OPENID])
    c = await upsert(gql, "shop-c", email="Wang.Fang@Example.com")
    inputs = [
        order("o-1", {"identity": CARD}),
        order("o-2", {"identity": OPENID}),
        order("o-3", {"phone": "+86 13800138000"}),
        order("o-4", {"email": "wang.fang@example.com"}),
        order("o-5", {"identity": {"type": "POS_CARD", "value": "nobody"}}),
        order("o-6", {"externalId": "shop-a"}),
    ]
    results = (await gql(BULK, {"inputs": inputs}))["ordersRecordBulk"]["results"]
    assert [r["customer"]["id"] if r["customer"] else None for r in results] == [
        a["id"],
        b["id"],
        b["id"],
        c["id"],
        None,
        a["id"],
    ]
    assert results[4]["userErrors"] == [
        {"field": ["inputs", "4", "customer", "identity"], "code": "NOT_FOUND"}
    ]
    assert results[5]["customer"]["ordersCount"] == 2


async def test_bulk_with_identities_adds_one_statement_whatever_their_number(gql, database):
    """Every identity of a batch is found in one statement: a batch naming its
    customers by identity costs one statement more than the same batch by id."""
    customers = [
        await upsert(gql, f"shop-{i}", identities=[{"type": "POS_CARD", "value": f"card-{i}"}])
        for i in range(20)
    ]

    async def statements(prefix: str, refs: list[dict]) -> int:
        inputs = [order(f"{prefix}-{i}", ref) for i, ref in enumerate(refs)]
        with counting(database) as counter:
            results = (await gql(BULK, {"inputs": inputs}))["ordersRecordBulk"]["results"]
        assert all(r["userErrors"] == [] for r in results)
        return len(counter.statements)

    by_id_small = await statements("id-s", [{"id": c["id"]} for c in customers[:2]])
    by_id_large = await statements("id-l", [{"id": c["id"]} for c in customers])
    cards = [{"identity": {"type": "POS_CARD", "value": f"card-{i}"}} for i in range(20)]
    by_card_small = await statements("card-s", cards[:2])
    by_card_large = await statements("card-l", cards)
    assert by_id_small == by_id_large
    assert by_card_small == by_card_large == by_id_large + 1


async def test_phone_and_email_find_a_customer_only_when_one_has_it(gql):
    await upsert(gql, "shop-1", phone="13800138000", email="li@example.com")
    await upsert(gql, "shop-2", phone="13900139000", email="li@example.com")
    by_phone = (await gql(ORDER, {"input": order("p-1", {"phone": "138-0013-8000"})}))[
        "orderRecord"
    ]
    assert by_phone["userErrors"] == []
    ambiguous = (await gql(ORDER, {"input": order("p-2", {"email": "LI@example.com"})}))[
        "orderRecord"
    ]
    assert [(e["field"], e["code"]) for e in ambiguous["userErrors"]] == [
        (["input", "customer", "email"], "AMBIGUOUS_CUSTOMER")
    ]
    nobody = (await gql(ORDER, {"input": order("p-3", {"phone": "13700137000"})}))["orderRecord"]
    assert [(e["field"], e["code"]) for e in nobody["userErrors"]] == [
        (["input", "customer", "phone"], "NOT_FOUND")
    ]
    both = (await gql(ORDER, {"input": order("p-4", {"phone": "13800138000", "email": "a@b.cn"})}))[
        "orderRecord"
    ]
    assert [(e["field"], e["code"]) for e in both["userErrors"]] == [
        (["input", "customer", "email"], "INVALID")
    ]
    # With externalId, phone and email stay profile fields for a new customer.
    created = (
        await gql(ORDER, {"input": order("p-5", {"externalId": "shop-3", "phone": "13800138000"})})
    )["orderRecord"]
    assert created["userErrors"] == []
    # Now two customers have that phone: it no longer names one.
    again = (await gql(ORDER, {"input": order("p-6", {"phone": "13800138000"})}))["orderRecord"]
    assert again["userErrors"][0]["code"] == "AMBIGUOUS_CUSTOMER"


async def test_an_erased_customer_is_no_lookup_key(gql):
    one = await upsert(gql, "shop-1", phone="13800138000")
    await upsert(gql, "shop-2", phone="13800138000")
    assert (await gql(ERASE, {"id": one["id"]}))["customerErase"]["userErrors"] == []
    by_phone = (await gql(ORDER, {"input": order("e-1", {"phone": "13800138000"})}))["orderRecord"]
    assert by_phone["userErrors"] == []


async def test_unique_contact_keys_refuse_a_second_customer_with_the_phone(gql):
    assert (await gql(PROGRAM, {"input": {}}))["programUpdate"]["program"] == {
        "uniqueContactKeys": False
    }
    await upsert(gql, "shop-1", phone="13800138000", email="li@example.com")
    turned_on = await gql(PROGRAM, {"input": {"uniqueContactKeys": True}})
    assert turned_on["programUpdate"]["program"] == {"uniqueContactKeys": True}

    refused = (
        await gql(
            UPSERT,
            {
                "input": {
                    "externalId": "shop-2",
                    "phone": "+86 138 0013 8000",
                    "email": "LI@example.com",
                }
            },
        )
    )["customerUpsert"]
    assert refused["customer"] is None
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [
        (["input", "phone"], "TAKEN"),
        (["input", "email"], "TAKEN"),
    ]
    # The customer who has it may keep sending it, and may change their other fields.
    same = await upsert(gql, "shop-1", phone="13800138000", name="李娜")
    assert same["id"]
    two = await upsert(gql, "shop-2", phone="13900139000")
    update = await gql(
        """mutation($id: ID!) { customerUpdate(input: {id: $id, email: "li@example.com"})
           { userErrors { field code } } }""",
        {"id": two["id"]},
    )
    assert update["customerUpdate"]["userErrors"] == [
        {"field": ["input", "email"], "code": "TAKEN"}
    ]
    # Erased customers no longer hold their phone.
    assert (await gql(ERASE, {"id": same["id"]}))["customerErase"]["userErrors"] == []
    assert await upsert(gql, "shop-3", phone="13800138000")


async def test_erasure_removes_identities_and_frees_them(gql):
    li = await upsert(gql, "shop-1", identities=[CARD, OPENID])
    await gql(ORDER, {"input": order("before-erase", {"identity": CARD})})
    assert (await gql(ERASE, {"id": li["id"]}))["customerErase"]["userErrors"] == []
    assert (await gql(BY_IDENTITY, {"identity": CARD}))["customer"] is None
    erased = await gql(
        "query($id: ID!) { customer(id: $id) { identities { value } points { available } } }",
        {"id": li["id"]},
    )
    assert erased["customer"] == {"identities": [], "points": {"available": 120}}
    refused = (await gql(ORDER, {"input": order("after", {"identity": CARD})}))["orderRecord"]
    assert refused["userErrors"][0]["code"] == "NOT_FOUND"
    # The card can be handed to someone else now.
    assert await upsert(gql, "shop-2", identities=[CARD])
    # And nobody can attach to the erased record.
    attached = await attach(gql, {"id": li["id"]}, {"type": "JD", "value": "j"})
    assert [(e["field"], e["code"]) for e in attached["userErrors"]] == [
        (["input", "customer"], "ERASED")
    ]


async def test_referral_and_activity_by_identity(gql):
    await upsert(gql, "friend", identities=[OPENID])
    referrer = await upsert(gql, "host")
    code = (
        await gql("query($id: ID!) { customer(id: $id) { referralCode } }", {"id": referrer["id"]})
    )["customer"]["referralCode"]
    payload = (
        await gql(
            """mutation($input: ReferralRecordInput!) { referralRecord(input: $input) {
                 referral { referee { externalId } } userErrors { field code } } }""",
            {"input": {"code": code, "referee": {"identity": OPENID}, "idempotencyKey": "r-1"}},
        )
    )["referralRecord"]
    assert payload["userErrors"] == []
    assert payload["referral"]["referee"]["externalId"] == "friend"


async def test_identities_of_many_customers_cost_one_statement(gql, database):
    for i in range(30):
        await upsert(gql, f"shop-{i}", identities=[{"type": "POS_CARD", "value": f"card-{i}"}])
    query = """query($n: Int!) { customers(first: $n) { edges { node {
        identities { type value } } } } }"""

    async def statements(n: int) -> int:
        with counting(database) as counter:
            data = await gql(query, {"n": n})
        assert len(data["customers"]["edges"]) == n
        assert all(len(e["node"]["identities"]) == 1 for e in data["customers"]["edges"])
        return len(counter.statements)

    assert await statements(3) == await statements(30)


async def test_one_identity_attached_by_many_at_once_goes_to_one_customer(gql):
    """Ten tills attach the same new card to ten customers at the same moment: one
    wins, the others are told IDENTITY_TAKEN (the loser's insert fails on the unique
    key, runs again and then sees the winner)."""
    for i in range(10):
        await upsert(gql, f"shop-{i}")
    payloads = [
        r["customerIdentityAttach"]
        for r in await asyncio.gather(
            *(
                gql(ATTACH, {"input": {"customer": {"externalId": f"shop-{i}"}, "identity": CARD}})
                for i in range(10)
            )
        )
    ]
    assert sum(p["attached"] for p in payloads) == 1
    codes = sorted(e["code"] for p in payloads for e in p["userErrors"])
    assert codes == ["IDENTITY_TAKEN"] * 9
    winner = next(p["customer"]["id"] for p in payloads if p["attached"])
    assert (await gql(BY_IDENTITY, {"identity": CARD}))["customer"]["id"] == winner


async def test_unique_contact_keys_hold_under_concurrent_upserts(gql):
    await gql(PROGRAM, {"input": {"uniqueContactKeys": True}})
    payloads = [
        r["customerUpsert"]
        for r in await asyncio.gather(
            *(
                gql(UPSERT, {"input": {"externalId": f"shop-{i}", "phone": "13800138000"}})
                for i in range(8)
            )
        )
    ]
    assert sum(p["customer"] is not None for p in payloads) == 1
    assert sorted(e["code"] for p in payloads for e in p["userErrors"]) == ["TAKEN"] * 7


async def test_preview_and_activity_name_the_customer_by_identity(gql):
    await upsert(gql, "shop-1", identities=[CARD])
    preview = (
        await gql(
            """query($input: OrderRecordInput!) { earningPreview(input: $input) {
                 preview { points } userErrors { field code } } }""",
            {"input": order("cart", {"identity": CARD}, amount="88.00")},
        )
    )["earningPreview"]
    assert preview == {"preview": {"points": 88}, "userErrors": []}

    activity = """mutation($input: ActivityRecordInput!) { activityRecord(input: $input) {
        customer { externalId } userErrors { field code } } }"""
    unknown = {"type": "POS_CARD", "value": "0000"}
    refused = (
        await gql(
            activity,
            {
                "input": {
                    "customer": {"identity": unknown},
                    "type": "CHECK_IN",
                    "occurredAt": "2026-03-02T08:00:00+08:00",
                    "idempotencyKey": "ci-1",
                }
            },
        )
    )["activityRecord"]
    assert refused["userErrors"] == [
        {"field": ["input", "customer", "identity"], "code": "NOT_FOUND"}
    ]
    two_ways = (
        await gql(
            activity,
            {
                "input": {
                    "customer": {"externalId": "shop-1", "identity": CARD},
                    "type": "CHECK_IN",
                    "occurredAt": "2026-03-02T08:00:00+08:00",
                    "idempotencyKey": "ci-2",
                }
            },
        )
    )["activityRecord"]
    assert two_ways["userErrors"] == [
        {"field": ["input", "customer", "identity"], "code": "INVALID"}
    ]
