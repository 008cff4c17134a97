"""`customerMerge`."""

from __future__ import annotations

import strawberry

from api.areas import mutation_fields
from api.auth import caller_of, requires
from api.customers.nodes import customer_or_none
from api.errors import UserError, decode_input_id
from api.merging.inputs import CustomerMergeInput
from api.merging.types import Customer, CustomerMergeType
from api.payloads import refusals_as_user_errors
from domain import merging as domain
from domain.access import Scope


@strawberry.type
class CustomerMergePayload:
    survivor: Customer | None = strawberry.field(
        default=None, description="The survivor as it is after the merge."
    )
    merge: CustomerMergeType | None = None
    replayed: bool = False
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@mutation_fields(position=16)
@strawberry.type
class MergingMutation:
    @strawberry.mutation(
        description="Merges a duplicate customer into a survivor: orders, points (lot by "
        "lot, keeping expiry), tags, redemptions, referrals, feedback, coupons, activities "
        "and identities move; statistics and tier are recomputed; the merged customer's "
        "id and externalId resolve to the survivor from then on. Idempotent on "
        "idempotencyKey.",
        permission_classes=[requires(Scope.CUSTOMERS_MERGE)],
    )
    @refusals_as_user_errors(CustomerMergePayload)
    async def customer_merge(
        self, info: strawberry.Info, input: CustomerMergeInput
    ) -> CustomerMergePayload:
        survivor = decode_input_id(input.survivor, "Customer", ("input", "survivor"))
        merged = decode_input_id(input.merged, "Customer", ("input", "merged"))
        service = domain.MergeService(info.context.uow, info.context.clock)
        result = await service.merge(
            domain.MergeCustomers(
                survivor, merged, input.idempotency_key, caller_of(info).api_key.id
            )
        )
        return CustomerMergePayload(
            survivor=customer_or_none(result.survivor),
            merge=CustomerMergeType.from_domain(result.record),
            replayed=result.replayed,
        )
