"""The Order, OrderItem and Refund types."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from api import ids
from api.auth import requires
from api.conversion import from_domain
from api.customers.nodes import load_customer
from api.earning_rules.loaders import EARNING_RULE
from api.money import Money, money
from api.node import Node, register
from api.orders.loaders import ORDER, ORDER_ITEMS, ORDER_POINTS_BREAKDOWN, ORDER_REFUNDS
from domain import orders as domain
from domain.access import Scope

if TYPE_CHECKING:
    from api.campaigns.types import OrderAttributionType
    from api.customers.types import CustomerType
    from api.earning_rules.types import EarningRuleType


@strawberry.type(name="OrderItem")
class OrderItemType:
    sku: str
    name: str | None
    category: str | None
    quantity: int
    unit_price: Decimal


@strawberry.type(name="Refund", description="One refund of part or all of an order.")
class RefundType:
    amount: Money
    points_reversed: int
    created_at: datetime

    @classmethod
    def from_domain(cls, refund: domain.Refund, currency: str) -> RefundType:
        return from_domain(cls, refund, amount=money(refund.amount, currency))


async def _rule(
    info: strawberry.Info, rule_key: int | None
) -> Annotated[EarningRuleType, strawberry.lazy("api.earning_rules.types")] | None:
    from api.earning_rules.types import load_earning_rule

    return None if rule_key is None else await load_earning_rule(info, rule_key)


@strawberry.type(
    name="PointsBreakdownLine",
    description="One part of what an order earned: its base points (rule null; the tier "
    "multiplier included) or one earning rule's points.",
)
class PointsBreakdownLineType:
    points: int
    eligible_amount: Money = strawberry.field(
        description="The amount of the order's lines the rule worked on (the whole order "
        "for the base)."
    )
    rule_key: strawberry.Private[int | None]

    @strawberry.field(
        description="The earning rule; null for the base points. Needs promotions:read "
        "(a customer token reads `me { orders { pointsBreakdown { ruleName } } }`).",
        permission_classes=[requires(Scope.PROMOTIONS_READ)],
    )
    async def rule(
        self, info: strawberry.Info
    ) -> Annotated[EarningRuleType, strawberry.lazy("api.earning_rules.types")] | None:
        return await _rule(info, self.rule_key)

    @strawberry.field(description="The earning rule's name; null for the base points.")
    async def rule_name(self, info: strawberry.Info) -> str | None:
        if self.rule_key is None:
            return None
        rule = await info.context.loader(EARNING_RULE).load(self.rule_key)
        return rule.name if rule else None


@strawberry.type(
    name="EarningPreviewLine",
    description="One part of what a cart would earn, and whether a budget cut it.",
)
class EarningPreviewLineType(PointsBreakdownLineType):
    points_without_budget: int = strawberry.field(
        description="What the rule would give if its budgets had room."
    )
    budget_limited: bool = strawberry.field(
        description="True when the rule's budget (total, or the customer's for the period) "
        "is spent or nearly: it gives less than it would, maybe nothing."
    )


@strawberry.type(name="Order", description="A purchase, as recorded by a storefront or partner.")
class OrderType(Node):
    id: strawberry.ID
    external_id: str
    amount: Money
    refunded_amount: Money
    net_amount: Money = strawberry.field(description="Amount minus what was refunded.")
    counted: bool = strawberry.field(
        description="False once refunded in full: it then counts in no statistic."
    )
    placed_at: datetime
    channel: str | None
    award_points: bool
    points_earned: int
    points_reversed: int
    created_at: datetime
    db_id: strawberry.Private[int]
    customer_key: strawberry.Private[int]

    @classmethod
    def from_domain(cls, order: domain.Order) -> OrderType:
        return from_domain(
            cls,
            order,
            id=strawberry.ID(ids.encode("Order", order.id)),
            amount=money(order.amount, order.currency),
            refunded_amount=money(order.refunded_amount, order.currency),
            net_amount=money(order.net_amount, order.currency),
            db_id=order.id,
            customer_key=order.customer_id,
        )

    @strawberry.field
    async def customer(
        self, info: strawberry.Info
    ) -> Annotated[CustomerType, strawberry.lazy("api.customers.types")]:
        found = await load_customer(info, self.customer_key)
        assert found is not None, "an order's customer is never deleted"
        return found

    @strawberry.field
    async def items(self, info: strawberry.Info) -> list[OrderItemType]:
        items = await info.context.loader(ORDER_ITEMS).load(self.db_id)
        return [from_domain(OrderItemType, i) for i in items]

    @strawberry.field(
        description="What the order earned, part by part: the base points first, then each "
        "earning rule that gave points. Empty when it earned nothing."
    )
    async def points_breakdown(self, info: strawberry.Info) -> list[PointsBreakdownLineType]:
        lines = await info.context.loader(ORDER_POINTS_BREAKDOWN).load(self.db_id)
        return [
            PointsBreakdownLineType(
                points=line.points,
                eligible_amount=money(line.eligible_amount, self.amount.currency),
                rule_key=line.rule_id,
            )
            for line in lines
        ]

    @strawberry.field(
        description="The campaign the order is attributed to (last touch within its "
        "attribution window, decided when the order was recorded); null when none. A "
        "refund in full takes it out of the campaign's figures, not off the order."
    )
    async def attribution(
        self, info: strawberry.Info
    ) -> Annotated[OrderAttributionType, strawberry.lazy("api.campaigns.types")] | None:
        from api.campaigns.loaders import ATTRIBUTION
        from api.campaigns.types import OrderAttributionType

        found = await info.context.loader(ATTRIBUTION).load(self.db_id)
        if found is None:
            return None
        campaign_id, arm = found
        return OrderAttributionType(variant=arm, campaign_key=campaign_id)

    @strawberry.field
    async def refunds(self, info: strawberry.Info) -> list[RefundType]:
        refunds = await info.context.loader(ORDER_REFUNDS).load(self.db_id)
        return [RefundType.from_domain(r, self.amount.currency) for r in refunds]


async def load_order(info: strawberry.Info, key: int) -> OrderType | None:
    order = await info.context.loader(ORDER).load(key)
    return OrderType.from_domain(order) if order else None


@register("Order", Scope.CUSTOMERS_READ, owner=lambda node: node.customer_key)
async def fetch_order(info: strawberry.Info, key: int) -> OrderType | None:
    return await load_order(info, key)
