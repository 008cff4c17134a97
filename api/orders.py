"""Orders over GraphQL: `orderRecord`, `ordersRecordBulk`, `orderRefund`, `order`."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from api import ids
from api.auth import require
from api.customers import CustomerRefInput, CustomerType, customer_ref_of
from api.errors import BadUserInput, UserError, user_errors
from api.money import Money, money
from api.node import Node, register
from domain import orders as domain
from domain.access import Scope
from domain.errors import DomainError, ErrorCode, InvalidInput
from domain.fields import MAX_LIST_ITEMS


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
        return cls(
            id=strawberry.ID(ids.encode("Order", order.id)),
            external_id=order.external_id,
            amount=money(order.amount, order.currency),
            refunded_amount=money(order.refunded_amount, order.currency),
            net_amount=money(order.net_amount, order.currency),
            counted=order.counted,
            placed_at=order.placed_at,
            channel=order.channel,
            award_points=order.award_points,
            points_earned=order.points_earned,
            points_reversed=order.points_reversed,
            created_at=order.created_at,
            db_id=order.id,
            customer_key=order.customer_id,
        )

    @strawberry.field
    async def customer(self, info: strawberry.Info) -> CustomerType:
        return CustomerType.from_domain(await info.context.loaders.customer.load(self.customer_key))

    @strawberry.field
    async def items(self, info: strawberry.Info) -> list[OrderItemType]:
        items = await info.context.loaders.order_items.load(self.db_id)
        return [
            OrderItemType(
                sku=i.sku,
                name=i.name,
                category=i.category,
                quantity=i.quantity,
                unit_price=i.unit_price,
            )
            for i in items
        ]

    @strawberry.field
    async def refunds(self, info: strawberry.Info) -> list[RefundType]:
        refunds = await info.context.loaders.order_refunds.load(self.db_id)
        currency = self.amount.currency
        return [
            RefundType(
                amount=money(r.amount, currency),
                points_reversed=r.points_reversed,
                created_at=r.created_at,
            )
            for r in refunds
        ]


@register("Order", Scope.CUSTOMERS_READ, owner=lambda node: node.customer_key)
async def fetch_order(info: strawberry.Info, key: int) -> OrderType | None:
    order = await info.context.loaders.order.load(key)
    return OrderType.from_domain(order) if order else None


@strawberry.input
class OrderItemInput:
    sku: str
    quantity: int = 1
    unit_price: Decimal = Decimal(0)
    name: str | None = None
    category: str | None = None


@strawberry.input
class OrderRecordInput:
    external_id: str = strawberry.field(
        description="The order's id in your system; the idempotency key of this mutation."
    )
    customer: CustomerRefInput
    amount: Decimal
    currency: str
    placed_at: datetime = strawberry.field(description="May be in the past (history import).")
    channel: str | None = None
    items: list[OrderItemInput] = strawberry.field(default_factory=list)
    award_points: bool = strawberry.field(
        default=True,
        description="False: the order only feeds statistics and metrics.",
    )


@strawberry.input
class OrderRefundInput:
    order_external_id: str
    amount: Decimal
    idempotency_key: str


@strawberry.type
class OrderRecordPayload:
    order: OrderType | None
    customer: CustomerType | None
    replayed: bool = strawberry.field(
        description="True when this externalId was recorded before: nothing was written."
    )
    user_errors: list[UserError]


@strawberry.type
class OrderRefundPayload:
    order: OrderType | None
    refund: RefundType | None
    replayed: bool
    user_errors: list[UserError]


@strawberry.type
class OrdersRecordBulkPayload:
    results: list[OrderRecordPayload] = strawberry.field(
        description="One result per input, in order; each succeeds or fails on its own."
    )
    user_errors: list[UserError]


def record_command(data: OrderRecordInput, api_key_id: int | None) -> domain.RecordOrder:
    return domain.RecordOrder(
        external_id=data.external_id,
        customer=customer_ref_of(data.customer, ("input", "customer")),
        amount=data.amount,
        currency=data.currency,
        placed_at=data.placed_at,
        channel=data.channel,
        items=[
            domain.OrderItem(i.sku, i.quantity, i.unit_price, i.name, i.category)
            for i in data.items
        ],
        award_points=data.award_points,
        api_key_id=api_key_id,
    )


def order_service(info: strawberry.Info) -> domain.OrderService:
    context = info.context
    return domain.OrderService(
        context.uow, context.clock, phone_region=context.settings.phone_region
    )


async def record_one(
    info: strawberry.Info, data: OrderRecordInput, api_key_id: int | None
) -> OrderRecordPayload:
    try:
        result = await order_service(info).record(record_command(data, api_key_id))
    except (DomainError, InvalidInput) as exc:
        return OrderRecordPayload(
            order=None, customer=None, replayed=False, user_errors=user_errors(exc)
        )
    return OrderRecordPayload(
        order=OrderType.from_domain(result.order),
        customer=CustomerType.from_domain(result.customer),
        replayed=result.replayed,
        user_errors=[],
    )


@strawberry.type
class OrderQuery:
    @strawberry.field(description="One order by global ID or by your externalId.")
    async def order(
        self, info: strawberry.Info, id: strawberry.ID | None = None, external_id: str | None = None
    ) -> OrderType | None:
        require(info, Scope.CUSTOMERS_READ)
        if (id is None) == (external_id is None):
            raise BadUserInput("Give exactly one of id and externalId.")
        if id is not None:
            try:
                order = await info.context.loaders.order.load(ids.decode(id, "Order"))
            except ValueError:
                return None
        else:
            order = await info.context.loaders.order_by_external_id.load(external_id)
        return OrderType.from_domain(order) if order else None


@strawberry.type
class OrderMutation:
    @strawberry.mutation(
        description="Records an order: statistics, points and tier follow in the same "
        "transaction. Idempotent on externalId."
    )
    async def order_record(
        self, info: strawberry.Info, input: OrderRecordInput
    ) -> OrderRecordPayload:
        caller = require(info, Scope.ORDERS_WRITE)
        return await record_one(info, input, caller.api_key.id)

    @strawberry.mutation(
        description=f"Records up to {MAX_LIST_ITEMS} orders; each has its own result."
    )
    async def orders_record_bulk(
        self, info: strawberry.Info, inputs: list[OrderRecordInput]
    ) -> OrdersRecordBulkPayload:
        caller = require(info, Scope.ORDERS_WRITE)
        if len(inputs) > MAX_LIST_ITEMS:
            error = DomainError(
                ErrorCode.TOO_MANY,
                ("inputs",),
                f"inputs has {len(inputs)} orders; the limit is {MAX_LIST_ITEMS}.",
            )
            return OrdersRecordBulkPayload(
                results=[], user_errors=user_errors(error, root="inputs")
            )
        results = [await record_one(info, data, caller.api_key.id) for data in inputs]
        return OrdersRecordBulkPayload(results=results, user_errors=[])

    @strawberry.mutation(
        description="Refunds part or all of an order; its points are reversed in proportion."
    )
    async def order_refund(
        self, info: strawberry.Info, input: OrderRefundInput
    ) -> OrderRefundPayload:
        caller = require(info, Scope.ORDERS_WRITE)
        command = domain.RefundOrder(
            input.order_external_id, input.amount, input.idempotency_key, caller.api_key.id
        )
        try:
            result = await order_service(info).refund(command)
        except (DomainError, InvalidInput) as exc:
            return OrderRefundPayload(
                order=None, refund=None, replayed=False, user_errors=user_errors(exc)
            )
        currency = result.order.currency
        return OrderRefundPayload(
            order=OrderType.from_domain(result.order),
            refund=RefundType(
                amount=money(result.refund.amount, currency),
                points_reversed=result.refund.points_reversed,
                created_at=result.refund.created_at,
            ),
            replayed=result.replayed,
            user_errors=[],
        )
