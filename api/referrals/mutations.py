"""`referralRecord`."""

from __future__ import annotations

import strawberry

from api.areas import mutation_fields
from api.auth import requires_api_key
from api.customers.inputs import customer_ref_of
from api.errors import UserError
from api.payloads import refusals_as_user_errors
from api.referrals.inputs import ReferralRecordInput
from api.referrals.types import ReferralType
from domain import referrals as domain
from domain.access import Scope


@strawberry.type
class ReferralRecordPayload:
    referral: ReferralType | None = None
    replayed: bool = False
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def referral_service(info: strawberry.Info) -> domain.ReferralService:
    context = info.context
    return domain.ReferralService(
        context.uow, context.clock, phone_region=context.settings.phone_region
    )


@mutation_fields(position=70)
@strawberry.type
class ReferralMutation:
    @strawberry.mutation(
        description="Records that a friend came with a referrer's code. The referral "
        "qualifies on the friend's first order of at least referralMinOrderAmount.",
        permission_classes=[requires_api_key(Scope.REFERRALS_WRITE)],
    )
    @refusals_as_user_errors(ReferralRecordPayload)
    async def referral_record(
        self, info: strawberry.Info, input: ReferralRecordInput
    ) -> ReferralRecordPayload:
        result = await referral_service(info).record(
            domain.RecordReferral(
                code=input.code,
                referee=customer_ref_of(input.referee, ("input", "referee")),
                idempotency_key=input.idempotency_key,
            )
        )
        return ReferralRecordPayload(
            referral=ReferralType.from_domain(result.referral), replayed=result.replayed
        )
