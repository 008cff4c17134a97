"""`tags` and `tag`."""

from __future__ import annotations

import strawberry

from api.areas import query_fields
from api.auth import requires
from api.pagination import Connection, paginate
from api.protections.inputs import bounded_search
from api.tags.types import TagType
from domain.access import Scope
from persistence import tags as reads


@query_fields(position=30)
@strawberry.type
class TagQuery:
    @strawberry.field(
        description="Tags by name, with how many customers wear each.",
        permission_classes=[requires(Scope.CUSTOMERS_READ)],
    )
    async def tags(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        search: str | None = None,
    ) -> Connection[TagType]:
        search = bounded_search(search, "search")
        return await paginate(
            sort="NAME",
            first=first,
            after=after,
            cursor_types=(str, int),
            read=lambda key, size: info.context.read(reads.list_tags, key, size, search),
            count=lambda: info.context.read(reads.count_tags, search),
            to_node=TagType.from_domain,
        )

    @strawberry.field(
        description="One tag by its name, ignoring case.",
        permission_classes=[requires(Scope.CUSTOMERS_READ)],
    )
    async def tag(self, info: strawberry.Info, name: str) -> TagType | None:
        tag = await info.context.read(reads.tag_by_name, name)
        return TagType.from_domain(tag) if tag else None
