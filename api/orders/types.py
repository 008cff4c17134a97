"""The Order, OrderItem and Refund types."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from api import ids
from api.conversion import from_domain
from api.customers.nodes import load_customer
from api.money import Money, money
from api.node import Node, register
from api.orders.loaders import ORDER, ORDER_ITEMS, ORDER_REFUNDS
from domain import orders as domain
from domain.access import Scope

if TYPE_CHECKING:
    from api.customers.types import CustomerType


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
