"""`order`."""

from __future__ import annotations

import strawberry

from api import ids
from api.areas import query_fields
from api.auth import CustomerPrincipal, caller_of, requires
from api.errors import BadUserInput, Forbidden, UserError
from api.money import money
from api.orders.inputs import OrderRecordInput
from api.orders.loaders import ORDER, ORDER_BY_EXTERNAL_ID
from api.orders.mutations import order_service, record_command
from api.orders.types import EarningPreviewLineType, OrderType
from api.payloads import refusals_as_user_errors
from domain.access import Scope


@strawberry.type(name="EarningPreview")
class EarningPreviewType:
    points: int = strawberry.field(description="What the order would earn in all.")
    lines: list[EarningPreviewLineType] = strawberry.field(
        description="The base points first, then each rule that applies, in the order they "
        "were applied; a rule whose budget is spent shows with 0 points and budgetLimited."
    )


@strawberry.type
class EarningPreviewPayload:
    preview: EarningPreviewType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@query_fields(position=50)
@strawberry.type
class OrderQuery:
    @strawberry.field(
        description="One order by global ID or by your externalId.",
        permission_classes=[requires(Scope.CUSTOMERS_READ)],
    )
    async def order(
        self, info: strawberry.Info, id: strawberry.ID | None = None, external_id: str | None = None
    ) -> OrderType | None:
        if id is not None and external_id is None:
            try:
                order = await info.context.loader(ORDER).load(ids.decode(id, "Order"))
            except ValueError:
                return None
        elif external_id is not None and id is None:
            order = await info.context.loader(ORDER_BY_EXTERNAL_ID).load(external_id)
        else:
            raise BadUserInput("Give exactly one of id and externalId.")
        return OrderType.from_domain(order) if order else None

    @strawberry.field(
        description="The points a cart would earn if recorded now as an order, with the "
        'breakdown a checkout shows ("you will earn 240 points"). Writes nothing and '
        "holds no budget. A customer token may preview only for its own customer (by id).",
        permission_classes=[requires(Scope.POINTS_PREVIEW)],
    )
    @refusals_as_user_errors(EarningPreviewPayload)
    async def earning_preview(
        self, info: strawberry.Info, input: OrderRecordInput
    ) -> EarningPreviewPayload:
        caller = caller_of(info)
        command = record_command(input, caller.api_key.id)
        if isinstance(caller, CustomerPrincipal) and command.customer.id != caller.customer_id:
            raise Forbidden("A customer token may only preview its own orders (customer.id).")
        result = await order_service(info).preview(command)
        currency = input.currency.strip().upper()
        breakdown = result.breakdown
        lines = [breakdown.base, *breakdown.rules] if breakdown.base.points else breakdown.rules
        return EarningPreviewPayload(
            preview=EarningPreviewType(
                points=breakdown.total,
                lines=[
                    EarningPreviewLineType(
                        points=line.points,
                        eligible_amount=money(line.eligible_amount, currency),
                        rule_key=line.rule_id,
                        points_without_budget=line.wanted,
                        budget_limited=line.budget_limited,
                    )
                    for line in lines
                ],
            )
        )
