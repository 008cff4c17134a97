"""`earningRules`, `earningRule`."""

from __future__ import annotations

import strawberry

from api import ids
from api.areas import query_fields
from api.auth import requires_api_key
from api.earning_rules.inputs import EarningRuleFilter
from api.earning_rules.types import EarningRuleType, load_earning_rule
from api.pagination import Connection, paginate
from domain.access import Scope
from persistence import earning_rules as reads

RULE_SORT = "ID_ASC"


@query_fields(position=87)
@strawberry.type
class EarningRuleQuery:
    @strawberry.field(
        description="Earning rules, oldest first.",
        permission_classes=[requires_api_key(Scope.PROMOTIONS_READ)],
    )
    async def earning_rules(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        filter: EarningRuleFilter | None = None,
    ) -> Connection[EarningRuleType]:
        given = filter or EarningRuleFilter()
        criteria = reads.RuleFilter(
            active_at=given.active_at, include_archived=given.include_archived
        )
        return await paginate(
            sort=RULE_SORT,
            first=first,
            after=after,
            read=lambda key, size: info.context.read(reads.list_rules, criteria, key, size),
            count=lambda: info.context.read(reads.count_rules, criteria),
            to_node=EarningRuleType.from_domain,
        )

    @strawberry.field(
        description="One earning rule by global ID.",
        permission_classes=[requires_api_key(Scope.PROMOTIONS_READ)],
    )
    async def earning_rule(
        self, info: strawberry.Info, id: strawberry.ID
    ) -> EarningRuleType | None:
        try:
            key = ids.decode(id, "EarningRule")
        except ValueError:
            return None
        return await load_earning_rule(info, key)
