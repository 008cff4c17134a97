"""`rewards`, `reward`, `redemption(code)`."""

from __future__ import annotations

import strawberry

from api import ids
from api.areas import query_fields
from api.auth import (
    CustomerPrincipal,
    caller_of,
    require_customer,
    requires,
    requires_per_caller,
)
from api.errors import BadUserInput, Forbidden
from api.pagination import Connection, paginate
from api.rewards.inputs import RewardFilter
from api.rewards.loaders import REDEMPTION_BY_CODE
from api.rewards.types import RedemptionType, RewardType, load_reward
from domain import redemptions as redeeming
from domain.access import Scope
from persistence import rewards as reads

CATALOG_SORT = "POINTS_COST_ASC"


def _query_id(global_id: str, expected: str, name: str) -> int:
    try:
        return ids.decode(global_id, expected)
    except ValueError:
        raise BadUserInput(f"{name} is not a {expected} ID.") from None


@query_fields(position=80)
@strawberry.type
class RewardQuery:
    @strawberry.field(
        description="The reward catalog, cheapest first.",
        permission_classes=[requires(Scope.REWARDS_READ)],
    )
    async def rewards(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        filter: RewardFilter | None = None,
    ) -> Connection[RewardType]:
        given = filter or RewardFilter()
        affordable_for = None
        if given.affordable_for is not None:
            affordable_for = _query_id(given.affordable_for, "Customer", "affordableFor")
            require_customer(info, Scope.REWARDS_READ, affordable_for)
        criteria = reads.RewardFilter(
            active_at=info.context.clock.now() if given.active_only else None,
            affordable_for=affordable_for,
            tier_id=_query_id(given.tier, "Tier", "tier") if given.tier is not None else None,
            include_archived=given.include_archived,
        )
        return await paginate(
            sort=CATALOG_SORT,
            first=first,
            after=after,
            read=lambda key, size: info.context.read(reads.list_rewards, criteria, key, size),
            count=lambda: info.context.read(reads.count_rewards, criteria),
            to_node=RewardType.from_domain,
        )

    @strawberry.field(
        description="One reward by global ID.", permission_classes=[requires(Scope.REWARDS_READ)]
    )
    async def reward(self, info: strawberry.Info, id: strawberry.ID) -> RewardType | None:
        try:
            key = ids.decode(id, "Reward")
        except ValueError:
            return None
        return await load_reward(info, key)

    @strawberry.field(
        description="A redemption by its code, as typed at checkout (storefront keys), or "
        "the caller's own (customer tokens).",
        permission_classes=[
            requires_per_caller(api_key=Scope.REDEMPTIONS_USE, token=Scope.REWARDS_READ)
        ],
    )
    async def redemption(self, info: strawberry.Info, code: str) -> RedemptionType | None:
        caller = caller_of(info)
        normalized = redeeming.normalize_code(code)
        loader = info.context.loader(REDEMPTION_BY_CODE)
        if isinstance(caller, CustomerPrincipal):
            found = await loader.load(normalized or "")
            # Another customer's code and a missing one look the same to a token.
            if found is None or found.customer_id != caller.customer_id:
                raise Forbidden("A customer token may only read its own redemptions.")
            return RedemptionType.from_domain(found)
        if normalized is None:
            return None
        found = await loader.load(normalized)
        return RedemptionType.from_domain(found) if found else None
