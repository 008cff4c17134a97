"""No N+1 anywhere: every list and connection field costs the same statements under
10 parents as under 100.

The cases are generated from the schema: for every field of an object type that
returns a list or a connection, the test finds the shortest path to its type from a
paged root list (`customers(first: N)`, `tags(first: N)`, …), selects the field under
N = 10 and N = 100 parents, and counts the SQL statements. A connection is also asked
for its `totalCount` and for a page `after` a cursor (a cursor is a sort key, valid
for every parent, so a client can ask it of a whole page of parents at once). A new
list field is covered automatically, or fails `test_every_list_field_is_covered`
until it is reachable or listed in UNREACHABLE with the reason. Every single-valued
field of the types reached is checked the same way (`tier`, `lifecycleStage`, `rfm`,
`Segment.count` with its default asOf, …).

Known limit: the members of different segments are different rules, so
`Segment.customers` costs one member query per distinct segment (the same segment
under every customer of a page is read once; `Segment.count` is one query per
instant for all segments).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from graphql import (
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    Undefined,
    get_named_type,
)
from sqlalchemy import select

from api.schema import schema
from domain.import_jobs import CreateImportJob, ImportJobService, ImportKind
from domain.journeys.engine import JourneyEngine
from domain.journeys.model import (
    ActionInput,
    ActionKind,
    JourneyFields,
    TriggerInput,
    VariantInput,
)
from domain.journeys.service import JourneyService
from domain.webhooks import SecretBox, WebhookDispatcher
from persistence.customers import CustomerRow
from persistence.unit_of_work import SqlUnitOfWork
from tests.api.ledger_calls import order_input
from tests.api.test_statement_count import counting
from tests.conftest import utc
from tests.event_horizon import settle
from tests.service.journey_setup import Shop

SMALL, LARGE = 10, 100

# Fields returning a list that no paged root list reaches, and why that is fine.
UNREACHABLE = {
    "Query.*": "the roots themselves: one list per request, no parents",
    "*Connection.edges": "the page of its connection, covered through the connection field",
    "*Connection.nodes": "the page of its connection, covered through the connection field",
    "*Payload.*": "mutation results: reached only from a mutation, one per call",
    "ApiKey.scopes": "only under Query.apiKeys (all keys, no paging); a column of the key row",
    "Cohort.customers": "only under Query.cohorts, whose rows one aggregate query computes",
    "Cohort.retention": "only under Query.cohorts, whose rows one aggregate query computes",
    "LifecycleSummary.stages": "a single summary object, computed by one query",
    "RfmSummary.classes": "a single summary object, computed by one query",
    "SegmentPreview.customers": "a single preview (Query.segmentPreview), one rule",
    "SegmentPreview.errors": "a single preview (Query.segmentPreview), no query",
    "EarningPreview.lines": "a single preview (Query.earningPreview), one cart",
    "PredictionCalibration.byFrequency": "a single report (Query.predictionCalibration), "
    "computed in memory from one fit",
    "MetricsReport.pointsIssuedByRule": "a single report (Query.metrics), one grouped query",
    "UserError.field": "only in mutation payloads",
    "TouchpointRecordResult.*": "a result per input of touchpointsRecord, a mutation",
    "Member.*": "only under Query.me: one member per request (a customer token), no parents",
    "MemberOrder.*": "only under Query.me's orders: one member's page, read with the same "
    "batched order loaders as Customer.orders",
    "MessagePreview.*": "a single preview (Query.messagePreview), one template, no query",
}

# The oldest customers first: the referred friends, made last, have no lists of their own.
ROOT_ARGUMENTS = {"customers": ", sort: CREATED_AT_ASC"}


def _unwrap(kind: GraphQLOutputType) -> GraphQLOutputType:
    while isinstance(kind, GraphQLNonNull):
        kind = kind.of_type
    return kind


def _is_connection(kind: GraphQLOutputType) -> bool:
    kind = _unwrap(kind)
    return isinstance(kind, GraphQLObjectType) and {"edges", "pageInfo"} <= set(kind.fields)


def _is_list(field: GraphQLField) -> bool:
    return isinstance(_unwrap(field.type), GraphQLList) or _is_connection(field.type)


def _item_type(field: GraphQLField) -> GraphQLOutputType:
    kind = _unwrap(field.type)
    if _is_connection(kind):
        assert isinstance(kind, GraphQLObjectType)
        return get_named_type(kind.fields["nodes"].type)
    return get_named_type(kind)


def _listed(type_name: str, field_name: str) -> str | None:
    for pattern, reason in UNREACHABLE.items():
        owner, name = pattern.split(".")
        owner_ok = owner == type_name or (owner.startswith("*") and type_name.endswith(owner[1:]))
        if owner_ok and name in ("*", field_name):
            return reason
    return None


def _needs_arguments(field: GraphQLField) -> bool:
    return any(
        isinstance(a.type, GraphQLNonNull) and a.default_value is Undefined
        for a in field.args.values()
    )


@dataclass(frozen=True)
class Case:
    """One list field, the path of fields that reaches its type from a paged root."""

    owner: str
    field: str
    path: tuple[tuple[str, bool], ...]  # (field name, is a connection)
    connection: bool

    @property
    def name(self) -> str:
        return f"{self.owner}.{self.field}"

    def query(self, parents: int, target: str) -> str:
        """`target` is the selection of the field itself, e.g. `ledger { totalCount }`."""
        text = target
        for depth, (name, connection) in reversed(list(enumerate(self.path))):
            extra = ROOT_ARGUMENTS.get(name, "") if depth == 0 else ""
            arguments = f"(first: {parents}{extra})" if depth == 0 else ""
            inner = f"{{ nodes {{ __typename {text} }} }}" if connection else f"{{ {text} }}"
            text = f"{name}{arguments} {inner}"
        return f"{{ {text} }}"


def _paths() -> dict[str, tuple[tuple[str, bool], ...]]:
    """The shortest path from a paged root list to every object type it reaches."""
    graphql_schema = schema._schema
    query = graphql_schema.query_type
    assert query is not None
    found: dict[str, tuple[tuple[str, bool], ...]] = {}
    waiting: deque[str] = deque()
    for name, field in query.fields.items():
        if _is_connection(field.type) and "first" in field.args:
            item = _item_type(field)
            if isinstance(item, GraphQLObjectType) and item.name not in found:
                found[item.name] = ((name, True),)
                waiting.append(item.name)
    while waiting:
        owner = graphql_schema.get_type(waiting.popleft())
        assert isinstance(owner, GraphQLObjectType)
        for name, field in owner.fields.items():
            item = _item_type(field)
            if not isinstance(item, GraphQLObjectType) or item.name in found:
                continue
            if _needs_arguments(field):
                continue
            found[item.name] = (*found[owner.name], (name, _is_connection(field.type)))
            waiting.append(item.name)
    return found


def cases() -> tuple[list[Case], list[str]]:
    """Every list field reached from a paged root, and those neither reached nor listed."""
    paths = _paths()
    reached: list[Case] = []
    uncovered: list[str] = []
    for kind in schema._schema.type_map.values():
        if not isinstance(kind, GraphQLObjectType) or kind.name.startswith("__"):
            continue
        for name, field in kind.fields.items():
            if not _is_list(field) or _listed(kind.name, name):
                continue
            if kind.name in paths and not _needs_arguments(field):
                reached.append(Case(kind.name, name, paths[kind.name], _is_connection(field.type)))
            else:
                uncovered.append(f"{kind.name}.{name}")
    return reached, uncovered


def _selection(field: GraphQLField) -> str:
    item = _item_type(field)
    if isinstance(item, GraphQLObjectType) or not hasattr(item, "serialize"):
        return "{ __typename }"
    return ""


def test_every_list_field_is_covered():
    reached, uncovered = cases()
    assert uncovered == [], (
        f"list fields no paged root reaches; reach them or list them: {uncovered}"
    )
    names = {case.name for case in reached}
    # The ones issue 11 names, so a broken walk cannot pass by covering nothing.
    assert {
        "Customer.ledger",
        "Customer.referrals",
        "Customer.redemptions",
        "Customer.feedback",
        "Customer.segments",
        "Customer.orders",
        "Customer.tags",
        "Tag.customers",
        "Segment.customers",
        "Order.items",
        "Customer.coupons",
    } <= names


# --- data: every list of every parent is non-empty -------------------------------------

BULK = """
mutation($inputs: [OrderRecordInput!]!) {
  ordersRecordBulk(inputs: $inputs) { results { userErrors { code field message } } userErrors { code } }
}"""
IDS = (
    """query($first: Int!) { customers(first: $first) { nodes { id externalId referralCode } } }"""
)


async def _mutations(gql, documents: list[str]) -> None:  # noqa: ANN001
    """Runs aliased mutations in chunks, asserting each has no user errors."""
    for start in range(0, len(documents), 20):
        chunk = documents[start : start + 20]
        body = " ".join(f"m{i}: {d}" for i, d in enumerate(chunk))
        data = await gql(f"mutation {{ {body} }}")
        for result in data.values():
            assert result["userErrors"] == [], (result, chunk)


async def seed(gql, clock) -> None:  # noqa: ANN001
    """LARGE customers (plus referred friends), each with two orders with items, a
    refund, points, a redemption, a referral, feedback, a tag of its own and a tier."""
    clock.at = utc(2026, 6, 1)
    await _mutations(
        gql,
        [
            'tierCreate(input: {name: "Bronze", rank: 1, threshold: "0", earnMultiplier: "1"})'
            " { userErrors { code field message } }",
            'tierCreate(input: {name: "Silver", rank: 2, threshold: "15", earnMultiplier: "1"})'
            " { userErrors { code field message } }",
            'rewardCreate(input: {name: "Mug", pointsCost: 1, kind: FREE_PRODUCT})'
            " { reward { id } userErrors { code } }",
            'segmentCreate(input: {name: "Buyers", rule: "orders_count >= 1"})'
            " { userErrors { code field message } }",
        ],
    )
    await _mutations(
        gql,
        [
            f'rewardCreate(input: {{name: "Mug {i}", pointsCost: 1, kind: FREE_PRODUCT}})'
            " { reward { id } userErrors { code field message } }"
            for i in range(LARGE)
        ],
    )
    await _mutations(
        gql,
        [
            f'couponTemplateCreate(input: {{name: "Coupon {i}", kind: FREE_SHIPPING, validDays: 7}})'
            " { couponTemplate { id } userErrors { code field message } }"
            for i in range(LARGE)
        ],
    )
    # Earning rules: one that every order meets (so breakdowns and ledger entries
    # link a rule), the others for a channel no order comes from.
    await _mutations(
        gql,
        [
            f'earningRuleCreate(input: {{name: "Rule {i}", kind: FIXED_BONUS, effect: {{points: 1}}'
            + ("" if i == 0 else ', conditions: {channels: ["nowhere"]}')
            + "}) { userErrors { code field message } }"
            for i in range(LARGE)
        ],
    )
    inputs = [
        order_input(
            f"o-{c}-{n}",
            f"{10 + n}.00",
            customer=f"c-{c:03d}",
            placed_at=f"2026-05-0{n + 1}T00:00:00+00:00",
            items=[{"sku": f"sku-{n}", "quantity": 1, "unitPrice": f"{10 + n}.00"}],
        )
        for c in range(LARGE)
        for n in range(2)
    ]
    data = await gql(BULK, {"inputs": inputs})
    assert all(r["userErrors"] == [] for r in data["ordersRecordBulk"]["results"])
    customers = (await gql(IDS, {"first": LARGE}))["customers"]["nodes"]
    reward = (await gql("{ rewards(first: 1) { nodes { id } } }"))["rewards"]["nodes"][0]["id"]
    template = (await gql("{ couponTemplates(first: 1) { nodes { id } } }"))["couponTemplates"]
    issued = await gql(
        "mutation($input: CouponIssueBulkInput!) { couponIssueBulk(input: $input) { issued } }",
        {
            "input": {
                "templateId": template["nodes"][0]["id"],
                "customerIds": [c["id"] for c in customers],
            }
        },
    )
    assert issued["couponIssueBulk"]["issued"] == LARGE
    documents = []
    for i, customer in enumerate(customers):
        cid, code = customer["id"], customer["referralCode"]
        documents += [
            f'orderRefund(input: {{orderExternalId: "o-{int(customer["externalId"][2:])}-0",'
            f' amount: "1.00", idempotencyKey: "r-{i}"}}) {{ userErrors {{ code }} }}',
            f'rewardRedeem(input: {{customerId: "{cid}", rewardId: "{reward}", idempotencyKey: "d-{i}"}})'
            " { userErrors { code field message } }",
            f'customerUpsert(input: {{externalId: "f-{i}"}}) {{ userErrors {{ code field message }} }}',
            f'referralRecord(input: {{code: "{code}", referee: {{externalId: "f-{i}"}}, idempotencyKey: "f-{i}"}})'
            " { userErrors { code field message } }",
            f'feedbackRecord(input: {{customerId: "{cid}", kind: NPS, score: 9}})'
            " { userErrors { code field message } }",
            f'customerTagsAdd(input: {{customerIds: ["{cid}"], tagNames: ["tag-{i}", "all"]}})'
            " { userErrors { code field message } }",
        ]
        if i < 30:  # three e-mails, ten customers on each: 135 duplicateCandidates pairs
            documents.append(
                f'customerUpsert(input: {{externalId: "{customer["externalId"]}",'
                f' email: "shared-{i // 10}@example.com"}}) {{ userErrors {{ code field message }} }}'
            )
    await _mutations(gql, documents)
    await seed_campaigns(gql)


async def seed_campaigns(gql) -> None:  # noqa: ANN001
    """LARGE started A/B campaigns on the buyers, each with a SENT to its first member,
    so every campaign has an audience, a funnel and an A/B test to read."""
    segments = (await gql("{ segments { id name } }"))["segments"]
    buyers = next(s["id"] for s in segments if s["name"] == "Buyers")
    await _mutations(
        gql,
        [
            f'campaignCreate(input: {{name: "Campaign {i}", channel: SMS, segmentId: "{buyers}",'
            ' variants: [{name: "A"}, {name: "B"}], holdoutShare: "0.1",'
            ' startsAt: "2026-05-31T00:00:00+00:00"}) { userErrors { code field message } }'
            for i in range(LARGE)
        ],
    )
    campaigns = (await gql(f"{{ campaigns(first: {LARGE}) {{ nodes {{ id }} }} }}"))["campaigns"]
    ids = [c["id"] for c in campaigns["nodes"]]
    await _mutations(
        gql,
        [
            f'campaignStart(input: {{id: "{i}"}}) {{ userErrors {{ code field message }} }}'
            for i in ids
        ],
    )
    member = """query($id: ID!) { campaign(id: $id) { audience(first: 1) {
        nodes { arm customer { id } } } } }"""
    touches = []
    for n, campaign in enumerate(ids):
        (first,) = (await gql(member, {"id": campaign}))["campaign"]["audience"]["nodes"]
        touches.append(
            {
                "campaignId": campaign,
                "customer": {"id": first["customer"]["id"]},
                "variant": "A" if first["arm"] == "HOLDOUT" else first["arm"],
                "event": "SENT",
                "at": "2026-06-01T00:00:00+00:00",
                "idempotencyKey": f"sent-{n}",
            }
        )
    recorded = await gql(
        "mutation($inputs: [TouchpointInput!]!) { touchpointsRecord(inputs: $inputs) {"
        " results { userErrors { code } } } }",
        {"inputs": touches},
    )
    assert all(r["userErrors"] == [] for r in recorded["touchpointsRecord"]["results"])


async def seed_webhook_deliveries(gql, database, clock) -> None:  # noqa: ANN001
    """A subscription to `customer.created` and the worker's fan-out of the seeded
    customers' events into deliveries (nothing is sent: `webhookDeliveries` is a
    paged root list like the others)."""
    data = await gql(
        'mutation { webhookSubscriptionCreate(input: {url: "http://127.0.0.1:9/hook",'
        ' eventTypes: ["customer.created"]}) { userErrors { code field message } } }'
    )
    assert data["webhookSubscriptionCreate"]["userErrors"] == []
    await settle(database)
    dispatcher = WebhookDispatcher(
        lambda: SqlUnitOfWork(database), clock, SecretBox("unused"), sender=None, worker="n+1"
    )
    while await dispatcher.fan_out():
        pass


async def seed_import_jobs(database, clock) -> None:  # noqa: ANN001
    """Queued import jobs (`imports` is a paged root list; nothing runs them here)."""
    jobs = ImportJobService(lambda: SqlUnitOfWork(database), clock)
    for n in range(LARGE):
        await jobs.create(
            CreateImportJob(
                ImportKind.CUSTOMERS, True, f"members-{n}.csv", f"/nowhere/{n}.csv", "", {}
            )
        )


async def seed_journeys(database, clock) -> None:  # noqa: ANN001
    """Journeys (`journeys` is a paged root list; each has variants with actions; the
    newest is active, with its campaign), and a run of it for every customer
    (`Customer.journeyRuns`, with steps): a repurchase reminder each, acted on."""
    service = JourneyService(lambda: SqlUnitOfWork(database), clock)
    for n in range(LARGE):
        tag = ActionInput(ActionKind.ADD_TAG, tag="reminded")
        journey = await service.create(
            JourneyFields(
                name=f"journey {n}",
                trigger=TriggerInput("customer.repurchase_due"),
                variants=[VariantInput("A", 1, [tag]), VariantInput("B", 1, [tag, tag])],
            )
        )
        assert journey.id is not None
        if n == LARGE - 1:  # the newest: on the first page whatever its size
            await service.activate(journey.id)
    async with database.sessions() as session:
        customers = list((await session.execute(select(CustomerRow.id))).scalars())
    await Shop(database, clock).repurchase_due(*customers)
    engine = JourneyEngine(lambda: SqlUnitOfWork(database), clock)
    while (await engine.fan_out()).events:
        pass
    while await engine.act_due():
        pass


async def seed_messages(database, clock) -> None:  # noqa: ANN001
    """LARGE message templates (`messageTemplates` is a paged root list), and for every
    customer a consent and two queued messages with outcomes (nothing is sent)."""
    from sqlalchemy import select

    from domain.messaging.consent import CONSENTS, Consent
    from domain.messaging.messages import MESSAGES, MessageOutcome, Outcome
    from domain.messaging.outbound import OutboundMessage, enqueue
    from domain.messaging.template_service import TemplateService
    from domain.messaging.templates import TemplateChannel, TemplateFields
    from persistence.customers import CustomerRow

    templates = TemplateService(lambda: SqlUnitOfWork(database), clock)
    for n in range(LARGE):
        await templates.create(
            TemplateFields(
                name=f"Template {n}",
                channel=TemplateChannel.WECHAT,
                body="{{ name }}",
                provider_template_id=f"tpl-{n}",
                fields={"thing1": "{{ name }}"},
            )
        )
    async with database.sessions() as session:
        customer_ids = list((await session.execute(select(CustomerRow.id))).scalars())
    now = clock.now()
    async with SqlUnitOfWork(database) as uow:
        for customer_id in customer_ids:
            await uow.repo(CONSENTS).put(
                Consent(customer_id, TemplateChannel.EMAIL, True, "storefront", now, now)
            )
            for step in range(2):
                queued = await enqueue(
                    uow,
                    OutboundMessage(customer_id, (1, 2), f"n+1:{customer_id}:{step}", None, None),
                    now,
                )
                await uow.repo(MESSAGES).add_outcomes(
                    [MessageOutcome(queued.message_id, customer_id, Outcome.NO_CONSENT, now, True)]
                )
        await uow.commit()


async def _statements(gql, database, query: str) -> int:  # noqa: ANN001
    with counting(database) as counter:
        await gql(query)
    return len(counter.statements)


async def _cursor(gql, case: Case) -> str | None:  # noqa: ANN001
    """An end cursor of the field under some parent, to ask every parent for the page after it."""
    data = await gql(case.query(SMALL, f"{case.field}(first: 1) {{ pageInfo {{ endCursor }} }}"))
    stack: list[object] = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if value.get("endCursor"):
                return str(value["endCursor"])
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return None


def _single_fields() -> dict[str, list[tuple[str, str]]]:
    """The other fields (one value each) of every reached type, by type: field name and
    its selection. Single-valued fields batch too (`tier`, `lifecycleStage`, `rfm`, …)."""
    paths = _paths()
    found: dict[str, list[tuple[str, str]]] = {}
    for owner in paths:
        kind = schema._schema.get_type(owner)
        assert isinstance(kind, GraphQLObjectType)
        found[owner] = [
            (name, _selection(field))
            for name, field in kind.fields.items()
            if not _is_list(field) and not _needs_arguments(field)
        ]
    return found


async def _grows(gql, database, case: Case, target: str) -> tuple[int, int]:  # noqa: ANN001
    small = await _statements(gql, database, case.query(SMALL, target))
    large = await _statements(gql, database, case.query(LARGE, target))
    return small, large


async def test_no_field_costs_more_statements_for_more_parents(gql, database, clock):
    await seed(gql, clock)
    await seed_webhook_deliveries(gql, database, clock)
    await seed_import_jobs(database, clock)
    await seed_messages(database, clock)
    await seed_journeys(database, clock)
    for root in {case.path[0][0] for case in cases()[0]} | {p[0][0] for p in _paths().values()}:
        extra = ROOT_ARGUMENTS.get(root, "")
        data = await gql(f"{{ {root}(first: {LARGE}{extra}) {{ nodes {{ __typename }} }} }}")
        assert len(data[root]["nodes"]) == LARGE, f"{root}: fewer than {LARGE} parents"
    reached, _ = cases()
    graphql_schema = schema._schema
    grown: dict[str, tuple[int, int]] = {}
    for case in reached:
        owner = graphql_schema.get_type(case.owner)
        assert isinstance(owner, GraphQLObjectType)
        field = owner.fields[case.field]
        targets = {case.name: f"{case.field} {_selection(field)}"}
        if case.connection:
            targets[case.name] = f"{case.field}(first: 2) {{ nodes {{ __typename }} }}"
            targets[f"{case.name}.totalCount"] = f"{case.field} {{ totalCount }}"
            cursor = await _cursor(gql, case)
            assert cursor is not None, f"{case.name}: no parent has a row to page after"
            targets[f"{case.name}(after)"] = (
                f'{case.field}(first: 1, after: "{cursor}") {{ nodes {{ __typename }} }}'
            )
        for label, target in targets.items():
            small, large = await _grows(gql, database, case, target)
            print(f"{label}: {small} → {large}", flush=True)
            if large != small:
                grown[label] = (small, large)
    # Every single-valued field of a reached type: all of a type's fields in one query,
    # then one by one only when that query grows (to name the field).
    paths = _paths()
    for owner, fields in _single_fields().items():
        case = Case(owner, "*", paths[owner], connection=False)
        together = " ".join(f"{name} {selection}" for name, selection in fields)
        small, large = await _grows(gql, database, case, together)
        print(f"{owner}.* ({len(fields)} fields): {small} → {large}", flush=True)
        if large == small:
            continue
        for name, selection in fields:
            small, large = await _grows(gql, database, case, f"{name} {selection}")
            if large != small:
                grown[f"{owner}.{name}"] = (small, large)
    assert grown == {}, f"statements at {SMALL} → {LARGE} parents: {grown}"
