"""The Campaign type, its audience members, funnel and A/B test, touchpoints, and an
order's attribution."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from api import ids
from api.auth import requires
from api.campaigns.loaders import AUDIENCE_COUNTS, AUDIENCE_PAGES, CAMPAIGN, FUNNEL, SEGMENT
from api.conversion import from_domain
from api.coupons.loaders import COUPON_TEMPLATE
from api.coupons.types import CouponTemplateType
from api.customers.nodes import load_customer
from api.money import Money, money
from api.node import Node, register
from api.pagination import Connection, paginate_per_parent
from api.segments.types import SegmentType
from domain import campaigns as domain
from domain.access import Scope
from persistence.campaigns import Member

if TYPE_CHECKING:
    from api.customers.types import CustomerType

Channel = strawberry.enum(domain.Channel, name="CampaignChannel")
TouchpointEvent = strawberry.enum(domain.TouchpointEvent, name="TouchpointEvent")
TouchpointFlag = strawberry.enum(domain.TouchpointFlag, name="TouchpointFlag")
Verdict = strawberry.enum(domain.Verdict, name="AbVerdict")
AUDIENCE_SORT = "CUSTOMER_ID"
RATE_PLACES = Decimal("0.000001")


def _decimal(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(RATE_PLACES)


@strawberry.type(name="CampaignVariant", description="One message of a campaign, and its weight.")
class CampaignVariantType:
    name: str
    weight: int = strawberry.field(description="Its share of the non-holdout audience, by weight.")
    message_template: str | None
    coupon_template_key: strawberry.Private[int | None]

    @strawberry.field(description="The coupon template its message carries, if any.")
    async def coupon_template(self, info: strawberry.Info) -> CouponTemplateType | None:
        if self.coupon_template_key is None:
            return None
        found = await info.context.loader(COUPON_TEMPLATE).load(self.coupon_template_key)
        return CouponTemplateType.from_domain(found) if found else None


@strawberry.type(
    name="CampaignAudienceMember",
    description="A customer and the arm they are assigned: a variant's name or HOLDOUT.",
)
class AudienceMemberType:
    arm: str = strawberry.field(description="The variant's name, or HOLDOUT (send nothing).")
    holdout: bool
    in_audience: bool = strawberry.field(
        description="In the audience frozen at the start (false before the start, or for a "
        "customer who was not in the segment then: `arm` is what they would be given)."
    )
    customer_key: strawberry.Private[int]

    @classmethod
    def of(cls, customer_id: int, arm: str, in_audience: bool) -> AudienceMemberType:
        return cls(
            arm=arm,
            holdout=arm == domain.HOLDOUT,
            in_audience=in_audience,
            customer_key=customer_id,
        )

    @strawberry.field
    async def customer(
        self, info: strawberry.Info
    ) -> Annotated[CustomerType, strawberry.lazy("api.customers.types")] | None:
        return await load_customer(info, self.customer_key)


@strawberry.type(name="CampaignFunnelArm", description="One arm's funnel (docs/campaigns.md).")
class FunnelArmType:
    arm: str = strawberry.field(description="A variant's name, or HOLDOUT.")
    audience: int = strawberry.field(description="Customers assigned this arm at the start.")
    sent: int
    delivered: int
    opened: int
    clicked: int
    added_to_cart: int
    ordered: int = strawberry.field(
        description="Customers who converted: a counted order within attributionDays after "
        "their first SENT (the holdout: after the campaign's start)."
    )
    sent_rate: Decimal | None = strawberry.field(description="sent / audience.")
    delivered_rate: Decimal | None = strawberry.field(description="delivered / sent.")
    opened_rate: Decimal | None = strawberry.field(description="opened / delivered.")
    clicked_rate: Decimal | None = strawberry.field(description="clicked / opened.")
    added_to_cart_rate: Decimal | None = strawberry.field(description="addedToCart / clicked.")
    ordered_rate: Decimal | None = strawberry.field(description="ordered / addedToCart.")
    conversion_rate: Decimal | None = strawberry.field(
        description="ordered / reached (sent customers; the holdout: its audience)."
    )
    attributed_orders: int = strawberry.field(
        description="Counted orders attributed to this arm (last touch)."
    )
    attributed_revenue: Money = strawberry.field(description="Their net amount (refunds off).")
    incremental_lift: Decimal | None = strawberry.field(
        description="conversionRate − the holdout's; null for the holdout or without one."
    )

    @classmethod
    def of(cls, arm: domain.FunnelArm, currency: str) -> FunnelArmType:
        c, steps = arm.counts, arm.step_conversion
        s = c.steps
        return cls(
            arm=c.arm,
            audience=c.audience,
            sent=s[domain.TouchpointEvent.SENT],
            delivered=s[domain.TouchpointEvent.DELIVERED],
            opened=s[domain.TouchpointEvent.OPENED],
            clicked=s[domain.TouchpointEvent.CLICKED],
            added_to_cart=s[domain.TouchpointEvent.ADDED_TO_CART],
            ordered=c.converted,
            sent_rate=_decimal(steps["SENT"]),
            delivered_rate=_decimal(steps["DELIVERED"]),
            opened_rate=_decimal(steps["OPENED"]),
            clicked_rate=_decimal(steps["CLICKED"]),
            added_to_cart_rate=_decimal(steps["ADDED_TO_CART"]),
            ordered_rate=_decimal(steps["ORDERED"]),
            conversion_rate=_decimal(arm.conversion_rate),
            attributed_orders=c.attributed_orders,
            attributed_revenue=money(c.attributed_revenue, currency),
            incremental_lift=_decimal(arm.incremental_lift),
        )


@strawberry.type(
    name="AbComparison",
    description="A variant against the first (docs/campaigns.md has the statistics).",
)
class AbComparisonType:
    variant: str
    baseline: str
    lift: float | None = strawberry.field(description="Conversion rate − the baseline's.")
    relative_lift: float | None = strawberry.field(description="lift / the baseline's rate.")
    lift_ci_low: float | None = strawberry.field(
        description="95 % confidence interval of lift (unpooled standard error): low end."
    )
    lift_ci_high: float | None
    z: float | None = strawberry.field(description="Two-proportion z statistic (pooled).")
    p_value: float | None = strawberry.field(description="Two-sided p-value of that z-test.")
    sample_size_needed: int | None = strawberry.field(
        description="Reached customers per arm to detect the observed lift at 80 % power "
        "(α = 0.05, two-sided); null when the lift is 0."
    )
    more_needed: int | None = strawberry.field(description="What the smaller arm still lacks.")
    verdict: Verdict  # type: ignore[valid-type]
    winner: str | None = strawberry.field(description="VARIANT_WINS: the better of the two.")


@strawberry.type(name="CampaignAbTest", description="The A/B comparison of a campaign's variants.")
class AbTestType:
    comparisons: list[AbComparisonType]
    verdict: Verdict = strawberry.field(  # type: ignore[valid-type]
        description="VARIANT_WINS when any comparison has a winner, NO_DIFFERENCE when "
        "every comparison has none, NOT_ENOUGH_DATA otherwise."
    )


def overall(comparisons: list[domain.Comparison]) -> domain.Verdict:
    verdicts = {c.verdict for c in comparisons}
    if domain.Verdict.VARIANT_WINS in verdicts:
        return domain.Verdict.VARIANT_WINS
    if verdicts == {domain.Verdict.NO_DIFFERENCE}:
        return domain.Verdict.NO_DIFFERENCE
    return domain.Verdict.NOT_ENOUGH_DATA


@strawberry.type(name="Campaign", description="A segment reached over a channel, in variants.")
class CampaignType(Node):
    id: strawberry.ID
    name: str
    channel: Channel  # type: ignore[valid-type]
    holdout_share: Decimal = strawberry.field(
        description="Share of the audience kept as a control group that gets nothing."
    )
    attribution_days: int = strawberry.field(
        description="An order within this many days after a customer's first SENT converts."
    )
    starts_at: datetime = strawberry.field(description="campaignStart is refused before.")
    ends_at: datetime | None
    started_at: datetime | None = strawberry.field(
        description="When campaignStart froze the audience; null until then."
    )
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime
    is_ab_test: bool = strawberry.field(description="Two or more variants.")
    variants: list[CampaignVariantType]
    segment_key: strawberry.Private[int | None]
    db_id: strawberry.Private[int]
    model: strawberry.Private[domain.Campaign]

    @classmethod
    def from_domain(cls, campaign: domain.Campaign) -> CampaignType:
        return from_domain(
            cls,
            campaign,
            id=strawberry.ID(ids.encode("Campaign", campaign.id)),
            is_ab_test=campaign.ab_test,
            variants=[
                CampaignVariantType(
                    name=v.name,
                    weight=v.weight,
                    message_template=v.message_template,
                    coupon_template_key=v.coupon_template_id,
                )
                for v in campaign.variants
            ],
            segment_key=campaign.segment_id,
            db_id=campaign.id,
            model=campaign,
        )

    @strawberry.field(
        description="The target segment; null once deleted, and for a journey's campaign."
    )
    async def segment(self, info: strawberry.Info) -> SegmentType | None:
        if self.segment_key is None:
            return None  # a journey's campaign
        found = await info.context.loader(SEGMENT).load(self.segment_key)
        return SegmentType.from_domain(found) if found else None

    @strawberry.field(
        description="The audience frozen at the start, by customer id, each with its arm: "
        "what a sending system pages through. Empty before the start.",
        permission_classes=[requires(Scope.CAMPAIGNS_READ, Scope.CUSTOMERS_READ)],
    )
    async def audience(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> Connection[AudienceMemberType]:
        def node(member: Member) -> AudienceMemberType:
            return AudienceMemberType.of(member.customer_id, member.arm, True)

        return await paginate_per_parent(
            info,
            self.db_id,
            sort=AUDIENCE_SORT,
            first=first,
            after=after,
            pages=AUDIENCE_PAGES,
            counts=AUDIENCE_COUNTS,
            to_node=node,
        )

    @strawberry.field(
        description="Per variant, then the holdout: customers at each step, step conversion, "
        "attributed orders and revenue, incremental lift. Empty before the start."
    )
    async def funnel(self, info: strawberry.Info) -> list[FunnelArmType]:
        counts = await info.context.loader(FUNNEL).load(self.db_id)
        if not counts:
            return []
        currency = (await info.context.program()).currency
        return [FunnelArmType.of(arm, currency) for arm in domain.funnel(counts)]

    @strawberry.field(
        description="Each variant after the first against the first; null for a campaign of "
        "one variant or before the start."
    )
    async def ab_test(self, info: strawberry.Info) -> AbTestType | None:
        if not self.model.ab_test:
            return None
        counts = await info.context.loader(FUNNEL).load(self.db_id)
        if not counts:
            return None
        comparisons = domain.ab_test(self.model, counts)
        return AbTestType(
            comparisons=[
                AbComparisonType(
                    variant=c.variant,
                    baseline=c.baseline,
                    lift=c.lift,
                    relative_lift=c.relative_lift,
                    lift_ci_low=c.lift_low,
                    lift_ci_high=c.lift_high,
                    z=c.z,
                    p_value=c.p_value,
                    sample_size_needed=c.sample_size_needed,
                    more_needed=c.more_needed,
                    verdict=c.verdict,
                    winner=c.winner,
                )
                for c in comparisons
            ],
            verdict=overall(comparisons),
        )


@register("Campaign", Scope.CAMPAIGNS_READ)
async def load_campaign(info: strawberry.Info, key: int) -> CampaignType | None:
    found = await info.context.loader(CAMPAIGN).load(key)
    return CampaignType.from_domain(found) if found else None


@strawberry.type(name="Touchpoint", description="What a sending system reported of one message.")
class TouchpointType:
    id: strawberry.ID
    variant: str
    event: TouchpointEvent  # type: ignore[valid-type]
    at: datetime
    idempotency_key: str
    recorded_at: datetime
    flag: TouchpointFlag | None = strawberry.field(  # type: ignore[valid-type]
        description="Set when the customer is outside the audience, in the holdout, or "
        "assigned another variant: recorded, but counted in no funnel or attribution."
    )
    campaign_key: strawberry.Private[int]
    customer_key: strawberry.Private[int]

    @classmethod
    def from_domain(cls, t: domain.Touchpoint) -> TouchpointType:
        return cls(
            id=strawberry.ID(ids.encode("Touchpoint", t.id)),
            variant=t.variant,
            event=t.event,
            at=t.at,
            idempotency_key=t.idempotency_key,
            recorded_at=t.recorded_at,
            flag=t.flag,
            campaign_key=t.campaign_id,
            customer_key=t.customer_id,
        )

    @strawberry.field
    async def campaign(self, info: strawberry.Info) -> CampaignType | None:
        return await load_campaign(info, self.campaign_key)

    @strawberry.field
    async def customer(
        self, info: strawberry.Info
    ) -> Annotated[CustomerType, strawberry.lazy("api.customers.types")] | None:
        return await load_customer(info, self.customer_key)


@strawberry.type(
    name="OrderAttribution",
    description="The campaign an order is attributed to: the one last sent before it, "
    "within its window (decided when the order was recorded).",
)
class OrderAttributionType:
    variant: str = strawberry.field(description="The customer's arm in that campaign.")
    campaign_key: strawberry.Private[int]

    @strawberry.field
    async def campaign(self, info: strawberry.Info) -> CampaignType | None:
        return await load_campaign(info, self.campaign_key)
