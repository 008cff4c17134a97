"""The referral fields of Customer: `referralCode`, `referrals`, `referredBy`."""

from __future__ import annotations

import strawberry

from api.areas import customer_fields
from api.auth import requires
from api.customers.base import CustomerFields
from api.pagination import Connection, paginate_per_parent
from api.referrals.loaders import (
    REFERRAL_CODE,
    REFERRAL_COUNTS,
    REFERRAL_OF_REFEREE,
    REFERRAL_PAGES,
)
from api.referrals.types import ReferralType
from domain.access import Scope


@customer_fields(position=20)
@strawberry.type
class CustomerReferralFields(CustomerFields):
    @strawberry.field(
        description="The customer's referral code, made when the customer was created and "
        "never changed."
    )
    async def referral_code(self, info: strawberry.Info) -> str:
        from domain.referrals import ReferralService

        # Every customer gets a code when created (and migration 0009 gave one to the
        # older ones), so this is a batched read; making one is left only for a row
        # written around the repository.
        context = info.context
        code = await context.loader(REFERRAL_CODE).load(self.db_id)
        if code is not None:
            return code
        service = ReferralService(
            context.uow, context.clock, phone_region=context.settings.phone_region
        )
        return await service.code_of(self.db_id)

    @strawberry.field(
        description="The friends this customer referred, newest first.",
        # The same scope as the `referrals` list: this is the list, one referrer at a time.
        permission_classes=[requires(Scope.REFERRALS_READ)],
    )
    async def referrals(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> Connection[ReferralType]:
        return await paginate_per_parent(
            info,
            self.db_id,
            sort="REFERRALS",
            first=first,
            after=after,
            pages=REFERRAL_PAGES,
            counts=REFERRAL_COUNTS,
            to_node=ReferralType.from_domain,
        )

    @strawberry.field(
        description="The referral that brought this customer, if any.",
        permission_classes=[requires(Scope.REFERRALS_READ)],
    )
    async def referred_by(self, info: strawberry.Info) -> ReferralType | None:
        referral = await info.context.loader(REFERRAL_OF_REFEREE).load(self.db_id)
        return ReferralType.from_domain(referral) if referral else None
