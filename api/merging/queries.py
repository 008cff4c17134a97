"""`duplicateCandidates`."""

from __future__ import annotations

import strawberry

from api.areas import query_fields
from api.auth import requires
from api.merging.types import DuplicateCandidateType
from api.pagination import Connection, paginate
from domain.access import Scope
from persistence import merging as reads


@query_fields(position=15)
@strawberry.type
class MergingQuery:
    @strawberry.field(
        description="Pairs of live (not erased, not merged) customers that share a phone, "
        "an e-mail or a WeChat id, highest score first; merge them with customerMerge.",
        permission_classes=[requires(Scope.CUSTOMERS_MERGE)],
    )
    async def duplicate_candidates(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> Connection[DuplicateCandidateType]:
        return await paginate(
            sort="duplicates",
            first=first,
            after=after,
            cursor_types=(int, int, int),
            read=lambda key, size: info.context.read(reads.duplicate_pairs, key, size),
            count=lambda: info.context.read(reads.count_duplicate_pairs),
            to_node=DuplicateCandidateType.from_domain,
        )
