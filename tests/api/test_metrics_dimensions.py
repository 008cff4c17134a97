"""Metrics of a sub-population (`filter`), `metricsBreakdown`, and the campaign figures.

A seeded random history gives every customer a tier, an acquisition channel and a
city (a saved segment selects a city), every order a channel, and a campaign an
audience. For each filter, the metrics must equal the whole-population metrics of
tests/api/test_metrics_random.py's oracle run on a history holding that
sub-population alone: only those customers (their orders, points, feedback and the
referrals they are the referee of), or for `channel` only that channel's orders.
Each breakdown row must equal the oracle on its value's sub-population.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import insert, update

from api import ids
from domain.access import Role
from persistence.campaigns import (
    CampaignAudienceRow,
    CampaignRow,
    OrderAttributionRow,
    TouchpointRow,
)
from persistence.customers import CustomerRow
from persistence.orders import OrderRow
from persistence.tiers import TierRow
from tests.api.test_metrics_random import ZONE, Oracle, assert_same, local_label
from tests.api.test_statement_count import counting
from tests.conftest import make_key
from tests.history import METRICS_FIELDS, History, set_program

SEED = 20261202
START = datetime(2025, 6, 1, tzinfo=UTC)
PERIOD = (datetime(2026, 1, 10, 5, tzinfo=UTC), datetime(2026, 4, 20, tzinfo=UTC))
TIERS = ["Silver", "Gold"]
ACQUIRED = ["store", "app", None]
CITIES = ["Shanghai", "Beijing"]
CHANNELS = ["POS", "APP", None]
CAMPAIGN_FIELDS = "reachedCustomers convertedCustomers outreachConversionRate attributedOrders"

METRICS = f"""query($p: PeriodInput!, $f: MetricsFilter) {{
  metrics(period: $p, compare: PREVIOUS_PERIOD, filter: $f) {{
    current {{ {METRICS_FIELDS} {CAMPAIGN_FIELDS} campaignRevenue {{ amount }} }}
    compared {{ {METRICS_FIELDS} }}
  }}
}}"""

BREAKDOWN = f"""query($p: PeriodInput!, $by: MetricsDimension!) {{
  metricsBreakdown(period: $p, by: $by) {{
    dimension key channel label customers
    metrics {{ {METRICS_FIELDS} {CAMPAIGN_FIELDS} campaignRevenue {{ amount }} }}
  }}
}}"""


def random_history(rng: random.Random) -> tuple[History, list[str | None]]:
    """A small history (orders, points, feedback, referrals) and each order's channel."""
    h = History()
    span = int((datetime(2026, 8, 1, tzinfo=UTC) - START).total_seconds())
    customers = [f"c{i}" for i in range(30)]
    channels = []
    for _ in range(220):
        at = START + timedelta(seconds=rng.randrange(span))
        cents = rng.randrange(100, 30_000)
        roll = rng.random()
        refunded = cents if roll < 0.1 else rng.randrange(1, cents) if roll < 0.2 else 0
        h.order(rng.choice(customers), at, f"{cents / 100:.2f}", f"{refunded / 100:.2f}")
        channels.append(rng.choice(CHANNELS))
    for _ in range(120):
        kind = rng.choice(["EARN", "BONUS", "ADJUST", "REDEEM", "REVERSE", "EXPIRE"])
        sign = {"EARN": 1, "BONUS": 1, "ADJUST": rng.choice([1, -1])}.get(kind, -1)
        at = START + timedelta(seconds=rng.randrange(span))
        h.entry(rng.choice(customers), kind, sign * rng.randrange(1, 400), at)
    for _ in range(60):
        kind = rng.choice(["NPS", "CSAT"])
        score = rng.randint(0, 10) if kind == "NPS" else rng.randint(1, 5)
        h.answer(rng.choice(customers), kind, score, START + timedelta(seconds=rng.randrange(span)))
    for referee in rng.sample(customers, 8) + [f"r{i}" for i in range(12)]:
        referrer = rng.choice([c for c in customers if c != referee])
        at = START + timedelta(seconds=rng.randrange(span))
        status = rng.choice(["PENDING", "QUALIFIED", "REVERSED"])
        h.referral(referee, referrer, at, status, None if status == "PENDING" else at)
    return h, channels


def sub_history(h: History, keep: set[str], channels=None, channel="*") -> History:  # noqa: ANN001
    """The history of the customers in `keep` alone; with a channel, only its orders."""
    sub = History()
    for i, (who, at, amount, refunded) in enumerate(h.orders):
        if who in keep and (channel == "*" or channels[i] == channel):
            sub.order(who, at, str(amount), str(refunded))
    sub.entries = [e for e in h.entries if e[0] in keep]
    sub.answers = [a for a in h.answers if a[0] in keep]
    sub.referrals = [r for r in h.referrals if r[0] in keep]
    return sub


class World:
    def __init__(self, h: History, channels: list[str | None]) -> None:
        self.h = h
        self.channels = channels
        self.names = list(h.customers)
        self.everyone = set(self.names)
        self.ids: dict[str, int] = {}
        self.tier: dict[str, str | None] = {}
        self.acquired: dict[str, str | None] = {}
        self.city: dict[str, str] = {}
        self.audience: set[str] = set()
        self.tier_ids: dict[str, int] = {}
        self.campaign_id = 0
        self.segment_id = ""

    def oracle(self, keep: set[str], channel: str | None = "*") -> Oracle:
        return Oracle(sub_history(self.h, keep, self.channels, channel))


@pytest.fixture
async def world(database, gql) -> World:
    await set_program(database, timezone="America/New_York")
    rng = random.Random(SEED)
    h, channels = random_history(rng)
    w = World(h, channels)
    w.ids = await h.write(database)
    for name in w.names:
        w.tier[name] = rng.choice([*TIERS, None])
        w.acquired[name] = rng.choice(ACQUIRED)
        w.city[name] = rng.choice(CITIES)
    w.audience = {name for name in w.names if rng.random() < 0.5}
    now = datetime.now(UTC)
    async with database.sessions() as session, session.begin():
        for rank, name in enumerate(TIERS, start=1):
            row = TierRow(
                name=name,
                name_key=name.lower(),
                rank=rank,
                threshold=rank * 1000,
                earn_multiplier=1,
                created_at=now,
            )
            session.add(row)
            await session.flush()
            w.tier_ids[name] = row.id
        for name in w.names:
            tier = w.tier[name]
            await session.execute(
                update(CustomerRow)
                .where(CustomerRow.id == w.ids[name])
                .values(
                    tier_id=w.tier_ids[tier] if tier else None,
                    acquisition_channel=w.acquired[name],
                    city=w.city[name],
                )
            )
        for channel in CHANNELS:
            keys = [f"order-{i}" for i, c in enumerate(channels) if c == channel]
            await session.execute(
                update(OrderRow).where(OrderRow.external_id.in_(keys)).values(channel=channel)
            )
        campaign = CampaignRow(
            name="Spring win-back",
            channel="SMS",
            segment_id=0,
            variants=[{"name": "A", "weight": 1}],
            holdout_share=0,
            attribution_days=7,
            starts_at=START,
            started_at=START,
            holdout_ends_at=START + timedelta(days=7),
            created_at=START,
            updated_at=START,
        )
        session.add(campaign)
        await session.flush()
        w.campaign_id = campaign.id
        await session.execute(
            insert(CampaignAudienceRow),
            [{"campaign_id": campaign.id, "customer_id": w.ids[n], "arm": "A"} for n in w.audience],
        )
    created = await gql(
        """mutation { segmentCreate(input: {name: "Shanghai", rule: "city = \\"Shanghai\\""}) {
             segment { id } userErrors { message } } }"""
    )
    w.segment_id = created["segmentCreate"]["segment"]["id"]
    return w


def period_input(period=PERIOD) -> dict:  # noqa: ANN001
    return {"from": period[0].isoformat(), "to": period[1].isoformat()}


def check(report: dict, oracle: Oracle, where: str) -> None:
    start, end = PERIOD
    assert_same(report["current"], oracle.period(start, end), where)
    assert_same(report["compared"], oracle.period(start - (end - start), start), f"{where} 环比")


async def test_each_filter_equals_the_metrics_of_its_sub_population_alone(gql, world):
    w = world
    gold = {n for n in w.names if w.tier[n] == "Gold"}
    app = {n for n in w.names if w.acquired[n] == "app"}
    shanghai = {n for n in w.names if w.city[n] == "Shanghai"}
    cases = [
        ("tier", {"tier": ids.encode("Tier", w.tier_ids["Gold"])}, w.oracle(gold)),
        ("acquisition", {"acquisitionChannel": "app"}, w.oracle(app)),
        ("segment", {"segment": w.segment_id}, w.oracle(shanghai)),
        ("campaign", {"campaign": ids.encode("Campaign", w.campaign_id)}, w.oracle(w.audience)),
        ("channel", {"channel": "POS"}, w.oracle(w.everyone, "POS")),
        (
            "all of them",
            {
                "tier": ids.encode("Tier", w.tier_ids["Gold"]),
                "acquisitionChannel": "app",
                "segment": w.segment_id,
                "campaign": ids.encode("Campaign", w.campaign_id),
                "channel": "APP",
            },
            w.oracle(gold & app & shanghai & w.audience, "APP"),
        ),
        ("nothing", {}, w.oracle(w.everyone)),
    ]
    for where, given, oracle in cases:
        data = await gql(METRICS, {"p": period_input(), "f": given})
        check(data["metrics"], oracle, where)
    # The sample is not trivially empty, and the filters do cut.
    whole = (await gql(METRICS, {"p": period_input()}))["metrics"]["current"]
    tier = (await gql(METRICS, {"p": period_input(), "f": cases[0][1]}))["metrics"]["current"]
    assert 0 < tier["buyers"] < whole["buyers"]
    assert tier["returningCustomers"] > 0


async def test_a_filtered_series_equals_the_sub_population_alone(gql, world):
    w = world
    silver = {n for n in w.names if w.tier[n] == "Silver"}
    oracle = w.oracle(silver, "POS")
    start, end = "2025-12-15T00:00:00-05:00", "2026-05-01T00:00:00-04:00"
    data = await gql(
        f"""query($f: MetricsFilter) {{
              metricsSeries(from: "{start}", to: "{end}", granularity: MONTH, filter: $f) {{
                startDate metrics {{ {METRICS_FIELDS} }} }} }}""",
        {"f": {"tier": ids.encode("Tier", w.tier_ids["Silver"]), "channel": "POS"}},
    )
    lo, hi = datetime.fromisoformat(start), datetime.fromisoformat(end)
    buckets = data["metricsSeries"]
    assert len(buckets) == 5
    for bucket in buckets:
        label = date.fromisoformat(bucket["startDate"])
        midnight = datetime.combine(label, time(), ZONE).astimezone(UTC)
        previous = local_label(midnight - timedelta(hours=1), "MONTH")
        expected = oracle.metrics(
            lambda at, label=label: lo <= at < hi and local_label(at, "MONTH") == label,
            lambda at, previous=previous: local_label(at, "MONTH") == previous,
            datetime.fromisoformat(bucket["metrics"]["to"]),
            max(midnight, lo),
        )
        assert_same(bucket["metrics"], expected, str(label))


async def test_each_breakdown_row_equals_its_sub_population(gql, world):
    w = world
    start, end = PERIOD

    async def rows(by: str) -> list[dict]:
        data = await gql(BREAKDOWN, {"p": period_input(), "by": by})
        return data["metricsBreakdown"]

    tiers = await rows("TIER")
    assert {r["label"] for r in tiers} == {"Silver", "Gold", "(no tier)"}
    revenues = [float(r["metrics"]["revenue"]["amount"]) for r in tiers]
    assert revenues == sorted(revenues, reverse=True)  # most revenue first
    for row in tiers:
        tier = None if row["key"] is None else row["label"]
        members = {n for n in w.names if w.tier[n] == tier}
        assert row["customers"] == len(members)
        assert_same(row["metrics"], w.oracle(members).period(start, end), f"tier {tier}")

    channels = await rows("CHANNEL")
    assert {r["channel"] for r in channels} == set(CHANNELS)
    for row in channels:
        oracle = w.oracle(w.everyone, row["channel"])
        assert_same(row["metrics"], oracle.period(start, end), f"channel {row['channel']}")
        assert row["customers"] == len({who for who, at, _, _ in oracle.counted if at < end})

    [segment] = await rows("SEGMENT")
    shanghai = {n for n in w.names if w.city[n] == "Shanghai"}
    assert (segment["key"], segment["label"]) == (w.segment_id, "Shanghai")
    assert segment["customers"] == len(shanghai)
    assert_same(segment["metrics"], w.oracle(shanghai).period(start, end), "segment")

    [campaign] = await rows("CAMPAIGN")
    assert campaign["key"] == ids.encode("Campaign", w.campaign_id)
    assert campaign["customers"] == len(w.audience)
    assert_same(campaign["metrics"], w.oracle(w.audience).period(start, end), "campaign")


async def test_a_breakdown_runs_the_same_statements_for_any_number_of_values(database, gql, world):
    w = world

    async def statements(by: str) -> tuple[int, int]:
        with counting(database) as counter:
            data = await gql(BREAKDOWN, {"p": period_input(), "by": by})
        return len(counter.statements), len(data["metricsBreakdown"])

    one_segment, one_campaign = await statements("SEGMENT"), await statements("CAMPAIGN")
    # Rules on the orders too (each compiles its own classification subquery).
    rules = ['city = \\"Beijing\\"', "orders_count >= 10", "total_spent > 1500"]
    for i, rule in enumerate(rules):
        await gql(
            f"""mutation {{ segmentCreate(input: {{name: "more {i}", rule: "{rule}"}})
                 {{ segment {{ id }} }} }}"""
        )
    async with database.sessions() as session, session.begin():
        for i in range(3):
            row = CampaignRow(
                name=f"more {i}",
                channel="SMS",
                segment_id=0,
                variants=[{"name": "A", "weight": 1}],
                holdout_share=0,
                attribution_days=7,
                starts_at=START,
                started_at=START,
                created_at=START,
                updated_at=START,
            )
            session.add(row)
            await session.flush()
            await session.execute(
                insert(CampaignAudienceRow),
                [{"campaign_id": row.id, "customer_id": world.ids[f"c{i}"], "arm": "A"}],
            )
    four_segments, four_campaigns = await statements("SEGMENT"), await statements("CAMPAIGN")
    assert (one_segment[1], four_segments[1]) == (1, 4)
    assert (one_campaign[1], four_campaigns[1]) == (1, 4)
    assert four_segments[0] == one_segment[0]
    assert four_campaigns[0] == one_campaign[0]
    # Every order of the history is before now: orders_count is over all of them.
    oracle = w.oracle(w.everyone)
    per_customer: dict[str, int] = {}
    for who, *_ in oracle.counted:
        per_customer[who] = per_customer.get(who, 0) + 1
    frequent = {who for who, n in per_customer.items() if n >= 10}
    data = await gql(BREAKDOWN, {"p": period_input(), "by": "SEGMENT"})
    [row] = [r for r in data["metricsBreakdown"] if r["label"] == "more 1"]
    assert 0 < row["customers"] == len(frequent) < len(w.names)
    assert_same(row["metrics"], w.oracle(frequent).period(*PERIOD), "orders_count >= 10")


# ---- 触达转化率 and campaign revenue on a constructed case -----------------------------

T0 = datetime(2026, 3, 1, tzinfo=UTC)
MARCH = {"from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z"}


async def test_outreach_conversion_and_campaign_revenue(database, gql):
    """Campaign K (7-day window): ann is sent to on 2 March and orders on 5 March
    (converted, the order attributed to K); bob is sent to on 10 March and orders on
    20 March (outside his window: reached, not converted); cid was sent to in
    February and orders on 3 March (converted, but not reached in March); dan's SENT
    is flagged (outside the audience) and does not count. Campaign L sent to eve on
    30 March, who ordered on 2 April: converted in March's figures (the order may
    fall after the period), but her revenue is April's."""
    h = History()
    h.order("ann", T0 + timedelta(days=4), "120.50")
    h.order("bob", T0 + timedelta(days=19), "80.00")
    h.order("cid", T0 + timedelta(days=2), "40.00")
    h.order("dan", T0 + timedelta(days=12), "10.00")
    h.order("eve", T0 + timedelta(days=32), "60.00")
    who = await h.write(database)
    async with database.sessions() as session, session.begin():
        campaigns = {}
        for name in ("K", "L"):
            row = CampaignRow(
                name=name,
                channel="SMS",
                segment_id=0,
                variants=[{"name": "A", "weight": 1}],
                holdout_share=0,
                attribution_days=7,
                starts_at=T0 - timedelta(days=30),
                started_at=T0 - timedelta(days=30),
                holdout_ends_at=T0 - timedelta(days=23),
                created_at=T0,
                updated_at=T0,
            )
            session.add(row)
            await session.flush()
            campaigns[name] = row.id
        sends = [
            ("K", "ann", T0 + timedelta(days=1), None),
            ("K", "bob", T0 + timedelta(days=9), None),
            ("K", "cid", T0 - timedelta(days=3), None),
            ("K", "dan", T0 + timedelta(days=10), "OUTSIDE_AUDIENCE"),
            ("L", "eve", T0 + timedelta(days=29), None),
        ]
        await session.execute(
            insert(TouchpointRow),
            [
                {
                    "campaign_id": campaigns[c],
                    "customer_id": who[name],
                    "variant": "A",
                    "event": "SENT",
                    "at": at,
                    "idempotency_key": f"send-{name}",
                    "request_hash": "-",
                    "recorded_at": at,
                    "flag": flag,
                    "window_ends_at": at + timedelta(days=7),
                }
                for c, name, at, flag in sends
            ],
        )
        await session.execute(
            insert(CampaignAudienceRow),
            [
                {"campaign_id": campaigns[c], "customer_id": who[name], "arm": "A"}
                for c, name, _, flag in sends
                if flag is None
            ],
        )
        order_ids = dict(
            (
                await session.execute(
                    OrderRow.__table__.select().with_only_columns(OrderRow.customer_id, OrderRow.id)
                )
            ).all()
        )
        await session.execute(
            insert(OrderAttributionRow),
            [
                {"order_id": order_ids[who["ann"]], "campaign_id": campaigns["K"], "arm": "A"},
                {"order_id": order_ids[who["cid"]], "campaign_id": campaigns["K"], "arm": "A"},
                {"order_id": order_ids[who["eve"]], "campaign_id": campaigns["L"], "arm": "A"},
            ],
        )
    fields = f"{CAMPAIGN_FIELDS} campaignRevenue {{ amount }}"
    query = f"""query($f: MetricsFilter) {{ metrics(period: {{from: "{MARCH["from"]}",
        to: "{MARCH["to"]}"}}, filter: $f) {{ current {{ {fields} }} }} }}"""
    march = (await gql(query))["metrics"]["current"]
    assert march == {
        "reachedCustomers": 3,  # ann, bob, eve
        "convertedCustomers": 2,  # ann, eve
        "outreachConversionRate": pytest.approx(2 / 3),
        "attributedOrders": 2,  # ann's and cid's orders are March's
        "campaignRevenue": {"amount": "160.50"},
    }
    k = ids.encode("Campaign", campaigns["K"])
    only_k = (await gql(query, {"f": {"campaign": k}}))["metrics"]["current"]
    assert only_k == {
        "reachedCustomers": 2,  # ann, bob
        "convertedCustomers": 1,
        "outreachConversionRate": 0.5,
        "attributedOrders": 2,
        "campaignRevenue": {"amount": "160.50"},
    }
    data = await gql(
        f"""query {{ metricsBreakdown(period: {{from: "{MARCH["from"]}", to: "{MARCH["to"]}"}},
              by: CAMPAIGN) {{ label customers metrics {{ {fields} }} }} }}"""
    )
    assert data["metricsBreakdown"] == [
        {"label": "K", "customers": 3, "metrics": only_k},
        {
            "label": "L",
            "customers": 1,
            "metrics": {
                "reachedCustomers": 1,
                "convertedCustomers": 1,
                "outreachConversionRate": 1.0,
                "attributedOrders": 0,
                "campaignRevenue": {"amount": "0.00"},
            },
        },
    ]


# ---- bad input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"segment": ids.encode("Segment", 987654)}, "filter.segment: no saved segment"),
        ({"tier": ids.encode("Tier", 987654)}, "filter.tier: no tier"),
        ({"campaign": ids.encode("Campaign", 987654)}, "filter.campaign: no campaign"),
        ({"tier": ids.encode("Campaign", 1)}, "filter.tier: expected a Tier ID"),
        ({"campaign": "not-an-id"}, "filter.campaign is not a valid ID"),
    ],
)
async def test_unknown_or_wrong_ids_are_refused_naming_the_field(gql, given, message):
    for query in (
        """query($f: MetricsFilter) { metrics(period: {from: "2026-01-01T00:00:00Z",
             to: "2026-02-01T00:00:00Z"}, filter: $f) { current { buyers } } }""",
        """query($f: MetricsFilter) { metricsSeries(from: "2026-01-01T00:00:00Z",
             to: "2026-02-01T00:00:00Z", granularity: WEEK, filter: $f) { startDate } }""",
    ):
        body = await gql.raw(query, {"f": given})
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert message in body["errors"][0]["message"]


async def test_a_breakdown_with_too_many_rows_asked_is_refused(gql):
    body = await gql.raw(
        """query { metricsBreakdown(period: {from: "2026-01-01T00:00:00Z",
             to: "2026-02-01T00:00:00Z"}, by: TIER, first: 101) { label } }"""
    )
    assert "first must be between 0 and 100" in body["errors"][0]["message"]


async def test_an_analyst_may_break_down_and_a_storefront_may_not(database, gql):
    query = """query { metricsBreakdown(period: {from: "2026-01-01T00:00:00Z",
                 to: "2026-02-01T00:00:00Z"}, by: CAMPAIGN) { label } }"""
    analyst = gql.as_key(await make_key(database, Role.ANALYST))
    assert await analyst(query) == {"metricsBreakdown": []}
    storefront = gql.as_key(await make_key(database, Role.STOREFRONT))
    body = await storefront.raw(query)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
