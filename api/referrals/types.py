"""The Referral type."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from api import ids
from api.auth import require_read_customer
from api.conversion import from_domain
from api.customers.nodes import load_customer
from api.node import Node, register
from api.referrals.loaders import REFERRAL
from domain import referrals as domain
from domain.access import Scope

if TYPE_CHECKING:
    from api.customers.types import CustomerType

ReferralStatus = strawberry.enum(domain.ReferralStatus, name="ReferralStatus")
Customer = Annotated["CustomerType", strawberry.lazy("api.customers.types")]


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
        return from_domain(
            cls,
            referral,
            id=strawberry.ID(ids.encode("Referral", referral.id)),
            referrer_key=referral.referrer_id,
            referee_key=referral.referee_id,
            order_key=referral.qualifying_order_id,
        )

    @strawberry.field(description="Who shared the code.")
    async def referrer(self, info: strawberry.Info) -> Customer:
        require_read_customer(info, self.referrer_key)
        found = await load_customer(info, self.referrer_key)
        assert found is not None, "a referrer is never deleted"
        return found

    @strawberry.field(description="Who came with it.")
    async def referee(self, info: strawberry.Info) -> Customer:
        require_read_customer(info, self.referee_key)
        found = await load_customer(info, self.referee_key)
        assert found is not None, "a referee is never deleted"
        return found


def _owner(node: ReferralType) -> int:
    return node.referrer_key


async def load_referral(info: strawberry.Info, key: int) -> ReferralType | None:
    referral = await info.context.loader(REFERRAL).load(key)
    return ReferralType.from_domain(referral) if referral else None


@register("Referral", Scope.REFERRALS_READ, owner=_owner)
async def fetch_referral(info: strawberry.Info, key: int) -> ReferralType | None:
    return await load_referral(info, key)
