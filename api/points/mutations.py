"""`pointsAdjust`."""

from __future__ import annotations

import strawberry

from api.areas import mutation_fields
from api.auth import caller_of, requires
from api.customers.types import CustomerType
from api.errors import UserError, decode_input_id
from api.payloads import refusals_as_user_errors
from api.points.inputs import PointsAdjustInput
from api.points.loaders import LEDGER_ENTRY
from api.points.types import LedgerEntryType
from domain import adjustments
from domain.access import Scope


@strawberry.type
class PointsAdjustPayload:
    customer: CustomerType | None = None
    entry: LedgerEntryType | None = None
    replayed: bool = False
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@mutation_fields(position=55)
@strawberry.type
class PointsMutation:
    @strawberry.mutation(
        description="Credits or debits points by hand. A debit can never make the balance "
        "negative. Idempotent on idempotencyKey.",
        permission_classes=[requires(Scope.POINTS_ADJUST)],
    )
    @refusals_as_user_errors(PointsAdjustPayload)
    async def points_adjust(
        self, info: strawberry.Info, input: PointsAdjustInput
    ) -> PointsAdjustPayload:
        service = adjustments.AdjustmentService(info.context.uow, info.context.clock)
        customer_id = decode_input_id(input.customer_id, "Customer", ("input", "customerId"))
        result = await service.adjust(
            adjustments.AdjustPoints(
                customer_id,
                input.points,
                input.reason,
                input.idempotency_key,
                caller_of(info).api_key.id,
            )
        )
        entry = await info.context.loader(LEDGER_ENTRY).load(result.entry_id)
        return PointsAdjustPayload(
            customer=CustomerType.from_domain(result.customer),
            entry=LedgerEntryType.from_domain(entry),
            replayed=result.replayed,
        )
