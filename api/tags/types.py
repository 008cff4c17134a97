"""The Tag type."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from api import ids
from api.auth import requires
from api.conversion import from_domain
from api.node import Node, register
from api.pagination import Connection, paginate
from api.tags.loaders import TAG, TAG_CUSTOMER_COUNT, TAG_CUSTOMERS
from domain import tags as domain
from domain.access import Scope
from persistence import customers as customer_reads

if TYPE_CHECKING:
    from api.customers.types import CustomerType

TagSource = strawberry.enum(domain.TagSource, name="TagSource")


@strawberry.type(name="Tag", description="A label on customers; names are unique ignoring case.")
class TagType(Node):
    id: strawberry.ID
    name: str
    description: str | None
    color: str | None = strawberry.field(description="#RRGGBB, for admin tools.")
    source: TagSource  # type: ignore[valid-type]
    created_at: datetime
    db_id: strawberry.Private[int]

    @classmethod
    def from_domain(cls, tag: domain.Tag) -> TagType:
        return from_domain(cls, tag, id=strawberry.ID(ids.encode("Tag", tag.id)), db_id=tag.id)

    @strawberry.field(
        description="How many customers (not erased) wear this tag.",
        permission_classes=[requires(Scope.CUSTOMERS_READ)],
    )
    async def customer_count(self, info: strawberry.Info) -> int:
        return await info.context.loader(TAG_CUSTOMER_COUNT).load(self.db_id)

    @strawberry.field(
        description="The customers with this tag, newest first.",
        permission_classes=[requires(Scope.CUSTOMERS_READ)],
    )
    async def customers(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> Connection[Annotated[CustomerType, strawberry.lazy("api.customers.types")]]:
        from api.customers.types import CustomerType

        sort = customer_reads.CustomerSort.CREATED_AT_DESC
        # Batched across a page of tags: one query per distinct cursor, one count query.
        return await paginate(
            sort=sort.value,
            first=first,
            after=after,
            cursor_types=(datetime, int),
            read=lambda key, size: info.context.loader(TAG_CUSTOMERS).load((self.db_id, key, size)),
            count=lambda: info.context.loader(TAG_CUSTOMER_COUNT).load(self.db_id),
            to_node=CustomerType.from_domain,
        )


@register("Tag", Scope.CUSTOMERS_READ)
async def fetch_tag(info: strawberry.Info, key: int) -> TagType | None:
    tag = await info.context.loader(TAG).load(key)
    return TagType.from_domain(tag) if tag else None
