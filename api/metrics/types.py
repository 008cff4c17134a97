"""The metrics types: one field per figure of FIGURES, generated for `Metrics` and
`MetricsChange`, so both always list the same figures."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import strawberry

from api import ids
from api.earning_rules.types import EarningRuleType, load_earning_rule
from api.money import Money
from domain import metrics as domain
from persistence import earning_rules as earning_reads

Granularity = strawberry.enum(domain.Granularity, name="Granularity")
MetricsComparison = strawberry.enum(
    domain.Comparison,
    name="MetricsComparison",
    description="PREVIOUS_PERIOD: the period of equal length right before (环比). "
    "YEAR_AGO: the same local calendar span one year earlier (同比).",
)

# (field, kind, description): the one list both `Metrics` and `MetricsChange` follow.
FIGURES: list[tuple[str, str, str]] = [
    ("buyers", "int", "Distinct customers with a counted order in the period."),
    ("orders", "int", "Counted orders (not refunded in full) placed in the period."),
    ("revenue", "money", "Net amount (amount − refunded) of the period's counted orders."),
    ("average_order_value", "money", "revenue / orders, half up to cents; null without orders."),
    ("new_customers", "int", "Buyers whose first counted order ever is in the period."),
    ("returning_customers", "int", "Buyers with a counted order before the period."),
    ("repeat_customers", "int", "Buyers with two or more counted orders in the period."),
    ("repeat_purchase_rate", "rate", "复购率: repeatCustomers / buyers."),
    ("returning_customer_rate", "rate", "returningCustomers / buyers."),
    (
        "repeat_purchase_frequency",
        "rate",
        "单客平均复购频次: Σ (orders − 1) over repeat customers / repeatCustomers.",
    ),
    (
        "repurchase_interval_days",
        "rate",
        "复购周期: mean days between consecutive counted orders of a customer, over pairs "
        "whose later order is in the period (the earlier one may be before it).",
    ),
    ("previous_period_buyers", "int", "Buyers of the previous period of equal length."),
    ("retained_customers", "int", "Previous-period buyers who are buyers in this period too."),
    ("retention_rate", "rate", "留存率: retainedCustomers / previousPeriodBuyers."),
    ("churn_rate", "rate", "流失率: 1 − retentionRate."),
    (
        "customer_lifetime_value",
        "money",
        "客户终身价值: AOV × orders/buyers × 1/churnRate; null when churn is 0 or undefined.",
    ),
    ("nps_responses", "int", "NPS answers recorded in the period."),
    ("nps", "rate", "% of NPS answers scoring 9–10 minus % scoring 0–6."),
    ("csat_responses", "int", "CSAT answers recorded in the period."),
    ("csat", "rate", "% of CSAT answers scoring 4–5."),
    ("points_issued", "int", "EARN + BONUS + positive ADJUST ledger entries."),
    ("points_redeemed", "int", "REDEEM entries net of REDEEM_CANCEL entries of the period."),
    ("points_expired", "int", "EXPIRE entries."),
    (
        "points_deducted",
        "int",
        "REVERSE (refund) + negative ADJUST entries; liability(to) = liability(from) + "
        "issued − redeemed − expired − deducted.",
    ),
    ("redemption_rate", "rate", "pointsRedeemed / pointsIssued."),
    ("points_liability", "int", "Σ of every ledger entry created before `to`."),
    ("points_liability_value", "money", "pointsLiability × the program's point value."),
    ("referrals_recorded", "int", "Referrals recorded in the period."),
    (
        "referrals_qualified",
        "int",
        "Of the referrals recorded in the period, those QUALIFIED now (whenever they "
        "qualified; REVERSED ones do not count).",
    ),
    (
        "referral_conversion",
        "rate",
        "referralsQualified / referralsRecorded: the share of the period's referrals "
        "whose referee went on to a qualifying order; it still rises while they mature.",
    ),
    (
        "reached_customers",
        "int",
        "Customers with a SENT touchpoint in the period (touchpoints flagged as outside "
        "the audience or of another variant do not count).",
    ),
    (
        "converted_customers",
        "int",
        "Of the reached customers, those with a counted order within the attribution "
        "window after one of those SENTs (the order may fall after the period).",
    ),
    (
        "outreach_conversion_rate",
        "rate",
        "触达转化率: convertedCustomers / reachedCustomers.",
    ),
    (
        "attributed_orders",
        "int",
        "Counted orders placed in the period that are attributed to a campaign.",
    ),
    (
        "campaign_revenue",
        "money",
        "Net amount of the attributedOrders (refunds deducted).",
    ),
]


def _figure(metrics: domain.PeriodMetrics, name: str) -> Any:
    return getattr(metrics, name)


@strawberry.type(description="current − other, and that change relative to |other|.")
class IntChange:
    absolute: int | None
    relative: float | None


@strawberry.type(description="current − other, and that change relative to |other|.")
class RateChange:
    absolute: float | None
    relative: float | None


@strawberry.type(description="current − other, and that change relative to |other|.")
class MoneyChange:
    absolute: Decimal | None
    relative: float | None


VALUE_TYPES = {"int": int, "rate": float | None, "money": Money}
OPTIONAL_MONEY = {"average_order_value", "customer_lifetime_value"}
CHANGE_TYPES = {"int": IntChange, "rate": RateChange, "money": MoneyChange}


def _generated_type(name: str, description: str, fields: dict[str, tuple[Any, str | None]]):  # noqa: ANN202
    namespace: dict[str, Any] = {"__annotations__": {}}
    for attr, (annotation, text) in fields.items():
        namespace["__annotations__"][attr] = annotation
        graphql_name = "from" if attr == "from_" else None
        namespace[attr] = strawberry.field(name=graphql_name, description=text)
    return strawberry.type(type(name, (), namespace), name=name, description=description)


MetricsType = _generated_type(
    "Metrics",
    "Every retention metric of one period [from, to); rates are null without a denominator.",
    {
        "from_": (datetime, "Start of the period (included)."),
        "to": (datetime, "End of the period (excluded)."),
        **{
            name: (Money | None if name in OPTIONAL_MONEY else VALUE_TYPES[kind], text)
            for name, kind, text in FIGURES
        },
    },
)
MetricsChange = _generated_type(
    "MetricsChange",
    "Each metric's change from the compared period to this one; null when undefined.",
    {name: (CHANGE_TYPES[kind], None) for name, kind, _ in FIGURES},
)


def _money(amount: Decimal | None, currency: str) -> Money | None:
    return None if amount is None else Money(amount=amount, currency=currency)


def to_graphql(metrics: domain.PeriodMetrics, currency: str):  # noqa: ANN201
    values: dict[str, Any] = {"from_": metrics.period.start, "to": metrics.period.end}
    for name, kind, _ in FIGURES:
        value = _figure(metrics, name)
        values[name] = _money(value, currency) if kind == "money" else value
    return MetricsType(**values)


def changes(current: domain.PeriodMetrics, other: domain.PeriodMetrics):  # noqa: ANN201
    values = {}
    for name, kind, _ in FIGURES:
        found = domain.change(_figure(current, name), _figure(other, name))
        values[name] = CHANGE_TYPES[kind](absolute=found.absolute, relative=found.relative)
    return MetricsChange(**values)


@strawberry.type(description="Points one earning rule issued in a period.")
class RulePointsIssued:
    points: int = strawberry.field(
        description="Σ EARN and BONUS entries linked to the rule, made in the period "
        "(refunds not deducted, as for pointsIssued)."
    )
    rule_key: strawberry.Private[int]

    @strawberry.field
    async def rule(self, info: strawberry.Info) -> EarningRuleType:
        found = await load_earning_rule(info, self.rule_key)
        assert found is not None, "a rule is archived, never deleted"
        return found


@strawberry.type(description="A period's metrics and, when asked, the compared period's.")
class MetricsReport:
    current: MetricsType  # type: ignore[valid-type]
    compare: MetricsComparison | None  # type: ignore[valid-type]
    compared: MetricsType | None = strawberry.field(  # type: ignore[valid-type]
        description="The compared period's metrics; null without `compare`."
    )
    change: MetricsChange | None = strawberry.field(  # type: ignore[valid-type]
        description="current − compared, per metric; null without `compare`."
    )
    period: strawberry.Private[domain.Period]

    @strawberry.field(
        description="Points each earning rule issued in the period, most first (rules "
        "that issued none are left out)."
    )
    async def points_issued_by_rule(self, info: strawberry.Info) -> list[RulePointsIssued]:
        rows = await info.context.read(
            earning_reads.points_issued_by_rule, self.period.start, self.period.end
        )
        return [RulePointsIssued(points=points, rule_key=rule_id) for rule_id, points in rows]


@strawberry.type(description="One calendar bucket of a series, cut in the program time zone.")
class MetricsBucket:
    start_date: date = strawberry.field(
        description="The bucket's first local day (a Monday for weeks, the 1st for months)."
    )
    metrics: MetricsType = strawberry.field(  # type: ignore[valid-type]
        description="The bucket's metrics; the first and last buckets are trimmed to the "
        "series' [from, to), and a bucket's previous period is the calendar bucket before it."
    )


@strawberry.type(description="Customers whose first counted order ever is in `month`.")
class Cohort:
    month: date = strawberry.field(description="First local day of the cohort's month.")
    size: int
    customers: list[int] = strawberry.field(
        description="customers[k]: cohort members with a counted order in month + k."
    )
    retention: list[float | None] = strawberry.field(
        description="retention[k] = customers[k] / size (offset 0 is 1.0); null when size is 0."
    )


MetricsDimension = strawberry.enum(
    domain.Dimension,
    name="MetricsDimension",
    description="CHANNEL: the order's channel. TIER: the customer's current tier. "
    "SEGMENT: each saved segment's members now. CAMPAIGN: each started campaign's "
    "frozen audience (holdout included).",
)
KEY_TYPES = {domain.Dimension.TIER: "Tier", domain.Dimension.SEGMENT: "Segment"}
KEY_TYPES[domain.Dimension.CAMPAIGN] = "Campaign"


@strawberry.type(description="The metrics of one value of a dimension.")
class MetricsBreakdownRow:
    dimension: MetricsDimension  # type: ignore[valid-type]
    key: strawberry.ID | None = strawberry.field(
        description="The tier, segment or campaign ID; null for CHANNEL and for the "
        "customers without a tier."
    )
    channel: str | None = strawberry.field(
        description="CHANNEL: the order channel (null: orders recorded without one)."
    )
    label: str = strawberry.field(
        description="The tier, segment or campaign name, or the channel; '(no tier)' and "
        "'(none)' for the rows of customers without a tier and orders without a channel."
    )
    customers: int = strawberry.field(
        description="Customers the value covers: the tier's, segment's or audience's "
        "members; for CHANNEL, the customers with a counted order of that channel "
        "placed before the period's end."
    )
    metrics: MetricsType = strawberry.field(  # type: ignore[valid-type]
        description="Every metric of the value's sub-population over the period."
    )

    @classmethod
    def of(
        cls, by: domain.Dimension, row: domain.BreakdownRow, currency: str
    ) -> MetricsBreakdownRow:
        key = None
        if row.key is not None and by in KEY_TYPES:
            key = strawberry.ID(ids.encode(KEY_TYPES[by], row.key))
        return cls(
            dimension=by,
            key=key,
            channel=row.channel,
            label=row.label,
            customers=row.customers,
            metrics=to_graphql(row.metrics, currency),
        )
