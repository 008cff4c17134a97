"""`orderRecord`, `ordersRecordBulk`, `orderRefund`."""

from __future__ import annotations

import strawberry

from api.areas import mutation_fields
from api.auth import caller_of, requires
from api.customers.inputs import customer_ref_of
from api.customers.types import CustomerType
from api.errors import UserError, user_errors
from api.orders.inputs import OrderRecordInput, OrderRefundInput
from api.orders.types import OrderType, RefundType
from api.payloads import refusals_as_user_errors
from domain import orders as domain
from domain.access import Scope
from domain.errors import DomainError, ErrorCode, InvalidInput, present
from domain.fields import MAX_LIST_ITEMS


@strawberry.type
class OrderRecordPayload:
    order: OrderType | None = None
    customer: CustomerType | None = None
    replayed: bool = strawberry.field(
        default=False,
        description="True when this externalId was recorded before: nothing was written.",
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class OrderRefundPayload:
    order: OrderType | None = None
    refund: RefundType | None = None
    replayed: bool = False
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class OrdersRecordBulkPayload:
    results: list[OrderRecordPayload] = strawberry.field(
        default_factory=list,
        description="One result per input, in order; each succeeds or fails on its own.",
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


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
        context.uow,
        context.clock,
        phone_region=context.settings.phone_region,
        reads=context.reading_uow,
    )


def record_payload(result: domain.RecordResult) -> OrderRecordPayload:
    return OrderRecordPayload(
        order=OrderType.from_domain(result.order),
        customer=CustomerType.from_domain(result.customer),
        replayed=result.replayed,
    )


def bulk_refusal(exc: DomainError | InvalidInput, index: int) -> OrderRecordPayload:
    """One refused input of ordersRecordBulk: its paths under ["inputs", "N", …]."""
    errors = user_errors(exc, root="input")
    for error in errors:
        if error.field is not None:
            error.field = ["inputs", str(index), *error.field[1:]]
    return OrderRecordPayload(user_errors=errors)


@refusals_as_user_errors(OrderRecordPayload)
async def record_one(info: strawberry.Info, data: OrderRecordInput) -> OrderRecordPayload:
    result = await order_service(info).record(record_command(data, caller_of(info).api_key.id))
    return record_payload(result)


@mutation_fields(position=50)
@strawberry.type
class OrderMutation:
    @strawberry.mutation(
        description="Records an order: statistics, points and tier follow in the same "
        "transaction. Idempotent on externalId.",
        permission_classes=[requires(Scope.ORDERS_WRITE)],
    )
    async def order_record(
        self, info: strawberry.Info, input: OrderRecordInput
    ) -> OrderRecordPayload:
        return await record_one(info, input)

    @strawberry.mutation(
        description=f"Records up to {MAX_LIST_ITEMS} orders in one transaction, each with "
        "the same result as its own orderRecord in this order (a refused input has its "
        "userErrors under inputs.N and leaves the others alone).",
        permission_classes=[requires(Scope.ORDERS_WRITE)],
    )
    @refusals_as_user_errors(OrdersRecordBulkPayload, root="inputs")
    async def orders_record_bulk(
        self, info: strawberry.Info, inputs: list[OrderRecordInput]
    ) -> OrdersRecordBulkPayload:
        if len(inputs) > MAX_LIST_ITEMS:
            raise DomainError(
                ErrorCode.TOO_MANY,
                ("inputs",),
                f"inputs has {len(inputs)} orders; the limit is {MAX_LIST_ITEMS}.",
            )
        api_key_id = caller_of(info).api_key.id
        results: list[OrderRecordPayload | None] = []
        commands: list[domain.RecordOrder] = []
        for index, data in enumerate(inputs):
            try:
                commands.append(record_command(data, api_key_id))
                results.append(None)
            except (DomainError, InvalidInput) as exc:
                results.append(bulk_refusal(exc, index))
        recorded = iter(await order_service(info).record_many(commands))
        for index, result in enumerate(results):
            if result is None:
                outcome = next(recorded)
                results[index] = (
                    bulk_refusal(outcome, index)
                    if isinstance(outcome, DomainError | InvalidInput)
                    else record_payload(outcome)
                )
        return OrdersRecordBulkPayload(results=[present(r, "result") for r in results])

    @strawberry.mutation(
        description="Refunds part or all of an order; its points are reversed in proportion.",
        permission_classes=[requires(Scope.ORDERS_WRITE)],
    )
    @refusals_as_user_errors(OrderRefundPayload)
    async def order_refund(
        self, info: strawberry.Info, input: OrderRefundInput
    ) -> OrderRefundPayload:
        command = domain.RefundOrder(
            input.order_external_id, input.amount, input.idempotency_key, caller_of(info).api_key.id
        )
        result = await order_service(info).refund(command)
        return OrderRefundPayload(
            order=OrderType.from_domain(result.order),
            refund=RefundType.from_domain(result.refund, result.order.currency),
            replayed=result.replayed,
        )
