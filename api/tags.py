"""Tags over GraphQL: the type, `tags`, and tag and customer-tag mutations."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api import ids
from api.auth import require
from api.customers import CustomerType, unset_to_domain
from api.errors import UserError, decode_input_id, decode_input_ids, user_errors
from api.node import Node, register
from api.pagination import Connection, connection, decode_cursor, page_size
from api.protections.inputs import bounded_search
from domain import tags as domain
from domain.access import Scope
from domain.errors import DomainError, ErrorCollector, InvalidInput
from domain.fields import bounded_list
from persistence import customers as customer_reads
from persistence import tags as reads

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
        return cls(
            id=strawberry.ID(ids.encode("Tag", tag.id)),
            name=tag.name,
            description=tag.description,
            color=tag.color,
            source=tag.source,
            created_at=tag.created_at,
            db_id=tag.id,
        )

    @strawberry.field(description="How many customers (not erased) wear this tag.")
    async def customer_count(self, info: strawberry.Info) -> int:
        require(info, Scope.CUSTOMERS_READ)
        return await info.context.loaders.tag_customer_count.load(self.db_id)

    @strawberry.field(description="The customers with this tag, newest first.")
    async def customers(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> Connection[CustomerType]:
        require(info, Scope.CUSTOMERS_READ)
        size = page_size(first)
        sort = customer_reads.CustomerSort.CREATED_AT_DESC
        key = decode_cursor(after, sort.value, (datetime, int)) if after else None
        criteria = customer_reads.CustomerFilter(tag=self.name)
        page = await info.context.read(customer_reads.list_customers, criteria, sort, key, size)
        return connection(
            page,
            sort.value,
            CustomerType.from_domain,
            lambda: info.context.read(customer_reads.count_customers, criteria),
            after=after,
        )


@register("Tag", Scope.CUSTOMERS_READ)
async def fetch_tag(info: strawberry.Info, key: int) -> TagType | None:
    tag = await info.context.loaders.tag.load(key)
    return TagType.from_domain(tag) if tag else None


@strawberry.input
class TagCreateInput:
    name: str
    description: str | None = None
    color: str | None = None
    source: TagSource = domain.TagSource.MANUAL  # type: ignore[valid-type]


@strawberry.input(description="An omitted field is left as it is; null clears it.")
class TagUpdateInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    color: str | None = strawberry.UNSET


@strawberry.input
class TagDeleteInput:
    id: strawberry.ID


@strawberry.input(description="Up to 1000 customers and 1000 tags, by ID or by name.")
class CustomerTagsInput:
    customer_ids: list[strawberry.ID]
    tag_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    tag_names: list[str] = strawberry.field(
        default_factory=list,
        description="On add, names no tag has yet create a tag (source as given).",
    )
    source: TagSource = domain.TagSource.MANUAL  # type: ignore[valid-type]


@strawberry.type
class TagPayload:
    tag: TagType | None
    user_errors: list[UserError]


@strawberry.type
class TagDeletePayload:
    deleted_tag_id: strawberry.ID | None
    user_errors: list[UserError]


@strawberry.type
class CustomerTagsPayload:
    tags: list[TagType]
    changed_count: int = strawberry.field(
        description="Customer-tag pairs actually added or removed (existing ones are skipped)."
    )
    user_errors: list[UserError]
    customer_keys: strawberry.Private[list[int]]

    @strawberry.field(description="The customers named in the input, as they are now.")
    async def customers(self, info: strawberry.Info) -> list[CustomerType]:
        found = await info.context.loaders.customer.load_many(self.customer_keys)
        return [CustomerType.from_domain(c) for c in found if c is not None]


def tag_service(info: strawberry.Info) -> domain.TagService:
    return domain.TagService(info.context.uow(), info.context.clock)


def _tag_change(data: CustomerTagsInput) -> domain.ChangeCustomerTags:
    errors = ErrorCollector()
    decoded: dict[str, list[int]] = {}
    for name, global_ids, type_name in (
        ("customerIds", data.customer_ids, "Customer"),
        ("tagIds", data.tag_ids, "Tag"),
    ):
        decoded[name] = []
        try:
            bounded_list(global_ids, ("input", name))
            decoded[name] = decode_input_ids(global_ids, type_name, ("input", name))
        except DomainError as exc:
            errors.capture(exc)
    errors.raise_if_any()
    return domain.ChangeCustomerTags(
        decoded["customerIds"], decoded["tagIds"], data.tag_names, data.source
    )


@strawberry.type
class TagQuery:
    @strawberry.field(description="Tags by name, with how many customers wear each.")
    async def tags(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        search: str | None = None,
    ) -> Connection[TagType]:
        require(info, Scope.CUSTOMERS_READ)
        search = bounded_search(search, "search")
        size = page_size(first)
        key = decode_cursor(after, "NAME", (str, int)) if after else None
        page = await info.context.read(reads.list_tags, key, size, search)
        return connection(
            page,
            "NAME",
            TagType.from_domain,
            lambda: info.context.read(reads.count_tags, search),
            after=after,
        )

    @strawberry.field(description="One tag by its name, ignoring case.")
    async def tag(self, info: strawberry.Info, name: str) -> TagType | None:
        require(info, Scope.CUSTOMERS_READ)
        tag = await info.context.read(reads.tag_by_name, name)
        return TagType.from_domain(tag) if tag else None


@strawberry.type
class TagMutation:
    @strawberry.mutation
    async def tag_create(self, info: strawberry.Info, input: TagCreateInput) -> TagPayload:
        require(info, Scope.TAGS_WRITE)
        command = domain.CreateTag(input.name, input.description, input.color, input.source)
        try:
            tag = await tag_service(info).create(command)
        except (DomainError, InvalidInput) as exc:
            return TagPayload(tag=None, user_errors=user_errors(exc))
        return TagPayload(tag=TagType.from_domain(tag), user_errors=[])

    @strawberry.mutation
    async def tag_update(self, info: strawberry.Info, input: TagUpdateInput) -> TagPayload:
        require(info, Scope.TAGS_WRITE)
        try:
            key = decode_input_id(input.id, "Tag", ("input", "id"))
            tag = await tag_service(info).update(
                domain.UpdateTag(
                    key,
                    name=unset_to_domain(input.name),
                    description=unset_to_domain(input.description),
                    color=unset_to_domain(input.color),
                )
            )
        except (DomainError, InvalidInput) as exc:
            return TagPayload(tag=None, user_errors=user_errors(exc))
        return TagPayload(tag=TagType.from_domain(tag), user_errors=[])

    @strawberry.mutation(description="Deletes a tag and takes it off every customer.")
    async def tag_delete(self, info: strawberry.Info, input: TagDeleteInput) -> TagDeletePayload:
        require(info, Scope.TAGS_WRITE)
        try:
            key = decode_input_id(input.id, "Tag", ("input", "id"))
            await tag_service(info).delete(key)
        except (DomainError, InvalidInput) as exc:
            return TagDeletePayload(deleted_tag_id=None, user_errors=user_errors(exc))
        return TagDeletePayload(deleted_tag_id=input.id, user_errors=[])

    @strawberry.mutation(description="Tags many customers at once, creating unknown tag names.")
    async def customer_tags_add(
        self, info: strawberry.Info, input: CustomerTagsInput
    ) -> CustomerTagsPayload:
        require(info, Scope.TAGS_WRITE)
        return await _change_tags(info, input, attach=True)

    @strawberry.mutation(description="Takes tags off many customers at once.")
    async def customer_tags_remove(
        self, info: strawberry.Info, input: CustomerTagsInput
    ) -> CustomerTagsPayload:
        require(info, Scope.TAGS_WRITE)
        return await _change_tags(info, input, attach=False)


async def _change_tags(
    info: strawberry.Info, data: CustomerTagsInput, *, attach: bool
) -> CustomerTagsPayload:
    try:
        command = _tag_change(data)
        service = tag_service(info)
        result = await (
            service.add_to_customers(command) if attach else service.remove_from_customers(command)
        )
    except (DomainError, InvalidInput) as exc:
        return CustomerTagsPayload(
            tags=[], changed_count=0, user_errors=user_errors(exc), customer_keys=[]
        )
    return CustomerTagsPayload(
        tags=[TagType.from_domain(t) for t in result.tags],
        changed_count=result.changed,
        user_errors=[],
        customer_keys=result.customer_ids,
    )
