"""Referrals over GraphQL: `referralRecord` (partners, storefronts), `referrals`
(admin), and a customer's code, referrals and referrer."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api import ids
from api.auth import api_key_only, require_read_customer
from api.customers import CustomerRefInput, CustomerType, customer_ref_of
from api.errors import UserError, user_errors
from api.node import Node, register
from api.pagination import Connection, connection, decode_cursor, page_size
from domain import referrals as domain
from domain.access import Scope
from domain.errors import DomainError, InvalidInput
from persistence import referrals as reads

ReferralStatus = strawberry.enum(domain.ReferralStatus, name="ReferralStatus")


@strawberry.type(name="Referral", description="A customer bringing a friend with their code.")
class ReferralType(Node):
    id: strawberry.ID
    code: str
    status: ReferralStatus  # type: ignore[valid-type]
    recorded_at: datetime
    qualified_at: datetime | None
    reversed_at: datetime | None
    referrer_bonus: int = strawberry.field(
        description="Points the referrer got (0 until qualified)."
    )
    referee_bonus: int
    referrer_key: strawberry.Private[int]
    referee_key: strawberry.Private[int]
    order_key: strawberry.Private[int | None]

    @classmethod
    def from_domain(cls, referral: domain.Referral) -> ReferralType:
        return cls(
            id=strawberry.ID(ids.encode("Referral", referral.id)),
            code=referral.code,
            status=referral.status,
            recorded_at=referral.recorded_at,
            qualified_at=referral.qualified_at,
            reversed_at=referral.reversed_at,
            referrer_bonus=referral.referrer_bonus,
            referee_bonus=referral.referee_bonus,
            referrer_key=referral.referrer_id,
            referee_key=referral.referee_id,
            order_key=referral.qualifying_order_id,
        )

    @strawberry.field(description="Who shared the code.")
    async def referrer(self, info: strawberry.Info) -> CustomerType:
        require_read_customer(info, self.referrer_key)
        return CustomerType.from_domain(await info.context.loaders.customer.load(self.referrer_key))

    @strawberry.field(description="Who came with it.")
    async def referee(self, info: strawberry.Info) -> CustomerType:
        require_read_customer(info, self.referee_key)
        return CustomerType.from_domain(await info.context.loaders.customer.load(self.referee_key))


def _owner(node: ReferralType) -> int:
    return node.referrer_key


@register("Referral", Scope.REFERRALS_READ, owner=_owner)
async def fetch_referral(info: strawberry.Info, key: int) -> ReferralType | None:
    referral = await info.context.loaders.referral.load(key)
    return ReferralType.from_domain(referral) if referral else None


@strawberry.input
class ReferralRecordInput:
    code: str = strawberry.field(description="The referrer's code; case, spaces, dashes ignored.")
    referee: CustomerRefInput
    idempotency_key: str


@strawberry.input
class ReferralFilter:
    status: ReferralStatus | None = None  # type: ignore[valid-type]


@strawberry.type
class ReferralRecordPayload:
    referral: ReferralType | None
    replayed: bool
    user_errors: list[UserError]


def referral_service(info: strawberry.Info) -> domain.ReferralService:
    context = info.context
    return domain.ReferralService(
        context.uow, context.clock, phone_region=context.settings.phone_region
    )


@strawberry.type
class ReferralQuery:
    @strawberry.field(description="All referrals, newest first (admin).")
    async def referrals(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        filter: ReferralFilter | None = None,
    ) -> Connection[ReferralType]:
        api_key_only(info, Scope.REFERRALS_READ)
        size = page_size(first)
        key = decode_cursor(after, "REFERRALS") if after else None
        status = filter.status.value if filter and filter.status else None
        page = await info.context.read(reads.list_referrals, key, size, status=status)
        return connection(
            page,
            "REFERRALS",
            ReferralType.from_domain,
            lambda: info.context.read(reads.count_referrals, status=status),
            after=after,
        )


@strawberry.type
class ReferralMutation:
    @strawberry.mutation(
        description="Records that a friend came with a referrer's code. The referral "
        "qualifies on the friend's first order of at least referralMinOrderAmount."
    )
    async def referral_record(
        self, info: strawberry.Info, input: ReferralRecordInput
    ) -> ReferralRecordPayload:
        api_key_only(info, Scope.REFERRALS_WRITE)
        try:
            result = await referral_service(info).record(
                domain.RecordReferral(
                    code=input.code,
                    referee=customer_ref_of(input.referee, ("input", "referee")),
                    idempotency_key=input.idempotency_key,
                )
            )
        except (DomainError, InvalidInput) as exc:
            return ReferralRecordPayload(
                referral=None, replayed=False, user_errors=user_errors(exc)
            )
        return ReferralRecordPayload(
            referral=ReferralType.from_domain(result.referral),
            replayed=result.replayed,
            user_errors=[],
        )
