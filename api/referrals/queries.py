"""`referrals` (admin)."""

from __future__ import annotations

import strawberry

from api.areas import query_fields
from api.auth import requires_api_key
from api.pagination import Connection, paginate
from api.referrals.inputs import ReferralFilter
from api.referrals.types import ReferralType
from domain.access import Scope
from persistence import referrals as reads


@query_fields(position=70)
@strawberry.type
class ReferralQuery:
    @strawberry.field(
        description="All referrals, newest first (admin).",
        permission_classes=[requires_api_key(Scope.REFERRALS_READ)],
    )
    async def referrals(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        filter: ReferralFilter | None = None,
    ) -> Connection[ReferralType]:
        status = filter.status.value if filter and filter.status else None
        return await paginate(
            sort="REFERRALS",
            first=first,
            after=after,
            read=lambda key, size: info.context.read(
                reads.list_referrals, key, size, status=status
            ),
            count=lambda: info.context.read(reads.count_referrals, status=status),
            to_node=ReferralType.from_domain,
        )
