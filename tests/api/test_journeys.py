"""Journeys over GraphQL: upkeep with bad input refused field by field (nothing
written), the status moves, who may read and write, and `Customer.journeyRuns`."""

from __future__ import annotations

from datetime import timedelta

from api import ids
from domain.access import Role
from domain.clock import FixedClock
from domain.journeys.engine import JourneyEngine
from persistence.database import Database
from tests.api.campaign_calls import ARCHIVE as CAMPAIGN_ARCHIVE
from tests.api.campaign_calls import UPDATE as CAMPAIGN_UPDATE
from tests.api.coupon_calls import new_customer, new_template
from tests.conftest import make_key
from tests.service import wiring
from tests.service.journey_setup import Shop, message_template

JOURNEY_FIELDS = """id name status trigger { eventType toStage segmentId } condition
  delaySeconds holdoutShare attributionDays activeSince activatedAt archivedAt
  variants { name weight actions { kind templateIds marketing points earningRuleId tag
  couponTemplate { id } } }
  campaign { id name startedAt variants { name } funnel { arm audience sent } }"""

CREATE = f"""
mutation($input: JourneyCreateInput!) {{
  journeyCreate(input: $input) {{
    journey {{ {JOURNEY_FIELDS} }}
    userErrors {{ field message code }}
  }}
}}"""

UPDATE = f"""
mutation($input: JourneyUpdateInput!) {{
  journeyUpdate(input: $input) {{
    journey {{ {JOURNEY_FIELDS} }}
    userErrors {{ field message code }}
  }}
}}"""

MOVE = """
mutation($id: ID!) {{
  {name}(input: {{id: $id}}) {{ journey {{ id status activeSince }} userErrors {{ field code }} }}
}}"""

JOURNEYS = """
query($status: JourneyStatus, $archived: Boolean) {
  journeys(first: 10, status: $status, includeArchived: $archived) {
    totalCount edges { node { id name status } }
  }
}"""

RUNS = """
query($id: ID!) {
  node(id: $id) { ... on Customer {
    journeyRuns(first: 10) {
      totalCount
      edges { node { status reason arm eventType dueAt finishedAt
        journey { name } customer { externalId }
        steps { index kind status reason couponCode messageId } } }
    }
  } }
}"""


async def move(gql, name: str, journey_id: str) -> dict:  # noqa: ANN001
    return (await gql(MOVE.format(name=name), {"id": journey_id}))[name]


def errors(payload: dict) -> list[tuple[list[str], str]]:
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


async def repurchase_input(gql, database: Database, clock: FixedClock) -> dict:  # noqa: ANN001
    coupon = await new_template(gql, name="满50减10", amountOff="10", minSpend="50")
    template = await message_template(database, clock.now())
    return {
        "name": "Repurchase reminder",
        "trigger": {"eventType": "customer.repurchase_due"},
        "actions": [
            {"kind": "ISSUE_COUPON", "couponTemplateId": coupon["id"]},
            {"kind": "SEND_MESSAGE", "templateIds": [ids.encode("MessageTemplate", template)]},
        ],
    }


async def test_bad_input_is_refused_field_by_field_and_writes_nothing(gql, database, clock):  # noqa: ANN001
    good = await repurchase_input(gql, database, clock)
    bad = {
        **good,
        "trigger": {"eventType": "customer.sneezed"},
        "condition": "total_spent >",
        "delaySeconds": -5,
        "holdoutShare": "1.5",
        "actions": [
            {"kind": "ISSUE_COUPON", "couponTemplateId": ids.encode("Customer", 1)},
            {"kind": "AWARD_POINTS", "points": 10},
            {"kind": "ADD_TAG", "tag": "   "},
        ],
    }
    refused = (await gql(CREATE, {"input": bad}))["journeyCreate"]
    assert refused["journey"] is None
    assert errors(refused) == [
        (["input", "actions", "0", "couponTemplateId"], "WRONG_TYPE"),
    ]
    bad["actions"][0]["couponTemplateId"] = ids.encode("CouponTemplate", 999)
    refused = (await gql(CREATE, {"input": bad}))["journeyCreate"]
    assert sorted(errors(refused)) == sorted(
        [
            (["input", "trigger", "eventType"], "INVALID"),
            (["input", "condition"], "INVALID_RULE"),
            (["input", "delaySeconds"], "INVALID"),
            (["input", "actions", "1", "earningRuleId"], "REQUIRED"),
            (["input", "actions", "2", "tag"], "REQUIRED"),
            (["input", "holdoutShare"], "INVALID"),
        ]
    )
    condition = next(e for e in refused["userErrors"] if e["field"] == ["input", "condition"])
    assert "column" in condition["message"]

    # Well-formed, but naming things that do not exist: NOT_FOUND on the path that named them.
    missing = {
        **good,
        "actions": [
            {"kind": "ISSUE_COUPON", "couponTemplateId": ids.encode("CouponTemplate", 999)},
            {"kind": "SEND_MESSAGE", "templateIds": [ids.encode("MessageTemplate", 999)]},
        ],
    }
    refused = (await gql(CREATE, {"input": missing}))["journeyCreate"]
    assert sorted(errors(refused)) == [
        (["input", "actions", "0", "couponTemplateId"], "NOT_FOUND"),
        (["input", "actions", "1", "templateIds", "0"], "NOT_FOUND"),
    ]
    listed = await gql(JOURNEYS, {"archived": True})
    assert listed["journeys"]["totalCount"] == 0


async def test_upkeep_and_status_moves(gql, database, clock):  # noqa: ANN001
    given = await repurchase_input(gql, database, clock)
    created = (await gql(CREATE, {"input": {**given, "delaySeconds": 3600}}))["journeyCreate"]
    assert created["userErrors"] == []
    journey = created["journey"]
    assert journey["status"] == "DRAFT" and journey["campaign"] is None
    assert journey["delaySeconds"] == 3600
    assert [a["kind"] for a in journey["variants"][0]["actions"]] == [
        "ISSUE_COUPON",
        "SEND_MESSAGE",
    ]

    changed = (
        await gql(
            UPDATE,
            {
                "input": {
                    "id": journey["id"],
                    "condition": "lifecycle = SILENT",
                    "holdoutShare": "0.1",
                    "trigger": {"eventType": "customer.lifecycle_changed", "toStage": "SILENT"},
                }
            },
        )
    )["journeyUpdate"]
    assert changed["userErrors"] == []
    assert changed["journey"]["trigger"] == {
        "eventType": "customer.lifecycle_changed",
        "toStage": "SILENT",
        "segmentId": None,
    }
    assert changed["journey"]["holdoutShare"] == "0.1000"

    active = await move(gql, "journeyActivate", journey["id"])
    assert active["journey"]["status"] == "ACTIVE" and active["journey"]["activeSince"]
    read = (await gql(UPDATE, {"input": {"id": journey["id"], "name": "Win-back"}}))[
        "journeyUpdate"
    ]["journey"]
    assert read["campaign"]["name"] == "Journey: Win-back"
    assert read["campaign"]["startedAt"] is not None
    assert [v["name"] for v in read["campaign"]["variants"]] == ["DEFAULT"]
    # The journey's campaign has no segment: its audience grows as the journey acts.
    campaign = read["campaign"]["id"]
    by_id = await gql("query($id: ID!) { campaign(id: $id) { segment { id } } }", {"id": campaign})
    assert by_id["campaign"] == {"segment": None}
    # It follows the journey: not ended, renamed or archived by hand.
    end = (clock.now() + timedelta(days=1)).isoformat()
    by_hand = await gql(CAMPAIGN_UPDATE, {"input": {"id": campaign, "endsAt": end}})
    assert errors(by_hand["campaignUpdate"]) == [(["input", "id"], "READ_ONLY")]
    archive = await gql(CAMPAIGN_ARCHIVE, {"id": campaign})
    assert errors(archive["campaignArchive"]) == [(["input", "id"], "READ_ONLY")]

    frozen = (await gql(UPDATE, {"input": {"id": journey["id"], "actions": given["actions"]}}))[
        "journeyUpdate"
    ]
    assert errors(frozen) == [(["input", "actions"], "READ_ONLY")]

    assert (await move(gql, "journeyPause", journey["id"]))["journey"]["status"] == "PAUSED"
    assert (await move(gql, "journeyResume", journey["id"]))["journey"]["status"] == "ACTIVE"
    archived = await move(gql, "journeyArchive", journey["id"])
    assert archived["journey"]["status"] == "ARCHIVED"
    refused = await move(gql, "journeyResume", journey["id"])
    assert errors(refused) == [(["input", "id"], "INVALID")]
    assert (await gql(JOURNEYS, {}))["journeys"]["totalCount"] == 0
    assert (await gql(JOURNEYS, {"status": "ARCHIVED"}))["journeys"]["totalCount"] == 1
    unknown = await move(gql, "journeyPause", ids.encode("Journey", 999))
    assert errors(unknown) == [(["input", "id"], "NOT_FOUND")]


async def test_analysts_read_journeys_and_write_none(gql, database, clock):  # noqa: ANN001
    given = await repurchase_input(gql, database, clock)
    analyst = gql.as_key(await make_key(database, Role.ANALYST))
    denied = await analyst.raw(CREATE, {"input": given})
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    await gql(CREATE, {"input": given})
    assert (await analyst(JOURNEYS, {}))["journeys"]["totalCount"] == 1
    storefront = gql.as_key(await make_key(database, Role.STOREFRONT))
    hidden = await storefront.raw(JOURNEYS, {})
    assert hidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_customer_journey_runs_show_each_step(gql, database, clock):  # noqa: ANN001
    given = await repurchase_input(gql, database, clock)
    journey = (await gql(CREATE, {"input": given}))["journeyCreate"]["journey"]
    await move(gql, "journeyActivate", journey["id"])
    customer = await new_customer(gql, "c-1")
    shop = Shop(database, clock)
    await shop.repurchase_due(ids.decode(customer, "Customer"))
    engine = JourneyEngine(wiring.uow_factory(database), clock)
    await engine.fan_out()
    await engine.act_due()

    runs = (await gql(RUNS, {"id": customer}))["node"]["journeyRuns"]
    assert runs["totalCount"] == 1
    [run] = [e["node"] for e in runs["edges"]]
    assert run["status"] == "COMPLETED" and run["arm"] == "DEFAULT"
    assert run["journey"] == {"name": "Repurchase reminder"}
    assert run["customer"] == {"externalId": "c-1"}
    assert run["eventType"] == "customer.repurchase_due"
    coupon, send = run["steps"]
    assert (coupon["kind"], coupon["status"]) == ("ISSUE_COUPON", "DONE")
    assert coupon["couponCode"]
    assert (send["kind"], send["status"]) == ("SEND_MESSAGE", "DONE")
    assert send["messageId"]
    tallies = "runTallies { status reason runs }"
    read = await gql(
        f"query($id: ID!) {{ journey(id: $id) {{ {JOURNEY_FIELDS} {tallies} }} }}",
        {"id": journey["id"]},
    )
    assert read["journey"]["campaign"]["funnel"][0]["audience"] == 1
    assert read["journey"]["runTallies"] == [{"status": "COMPLETED", "reason": None, "runs": 1}]
