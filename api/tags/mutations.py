"""Tag and customer-tag mutations."""

from __future__ import annotations

import dataclasses

import strawberry

from api.areas import mutation_fields
from api.auth import requires
from api.conversion import unset_to_domain
from api.customers.loaders import CUSTOMER
from api.customers.types import CustomerType
from api.errors import UserError, decode_input_id
from api.payloads import refusals_as_user_errors
from api.tags.inputs import (
    CustomerTagsInput,
    TagCreateInput,
    TagDeleteInput,
    TagUpdateInput,
    tag_change,
)
from api.tags.types import TagType
from domain import tags as domain
from domain.access import Scope


@strawberry.type
class TagPayload:
    tag: TagType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class TagDeletePayload:
    deleted_tag_id: strawberry.ID | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CustomerTagsPayload:
    tags: list[TagType] = strawberry.field(default_factory=list)
    changed_count: int = strawberry.field(
        default=0,
        description="Customer-tag pairs actually added or removed (existing ones are skipped).",
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    customer_keys: strawberry.Private[list[int]] = dataclasses.field(default_factory=list)

    @strawberry.field(description="The customers named in the input, as they are now.")
    async def customers(self, info: strawberry.Info) -> list[CustomerType]:
        found = await info.context.loader(CUSTOMER).load_many(self.customer_keys)
        return [CustomerType.from_domain(c) for c in found if c is not None]


def tag_service(info: strawberry.Info) -> domain.TagService:
    return domain.TagService(info.context.uow, info.context.clock)


async def _change_tags(
    info: strawberry.Info, data: CustomerTagsInput, *, attach: bool
) -> CustomerTagsPayload:
    command = tag_change(data)
    service = tag_service(info)
    result = await (
        service.add_to_customers(command) if attach else service.remove_from_customers(command)
    )
    return CustomerTagsPayload(
        tags=[TagType.from_domain(t) for t in result.tags],
        changed_count=result.changed,
        customer_keys=result.customer_ids,
    )


@mutation_fields(position=30)
@strawberry.type
class TagMutation:
    @strawberry.mutation(permission_classes=[requires(Scope.TAGS_WRITE)])
    @refusals_as_user_errors(TagPayload)
    async def tag_create(self, info: strawberry.Info, input: TagCreateInput) -> TagPayload:
        command = domain.CreateTag(input.name, input.description, input.color, input.source)
        return TagPayload(tag=TagType.from_domain(await tag_service(info).create(command)))

    @strawberry.mutation(permission_classes=[requires(Scope.TAGS_WRITE)])
    @refusals_as_user_errors(TagPayload)
    async def tag_update(self, info: strawberry.Info, input: TagUpdateInput) -> TagPayload:
        key = decode_input_id(input.id, "Tag", ("input", "id"))
        tag = await tag_service(info).update(
            domain.UpdateTag(
                key,
                name=unset_to_domain(input.name),
                description=unset_to_domain(input.description),
                color=unset_to_domain(input.color),
            )
        )
        return TagPayload(tag=TagType.from_domain(tag))

    @strawberry.mutation(
        description="Deletes a tag and takes it off every customer.",
        permission_classes=[requires(Scope.TAGS_WRITE)],
    )
    @refusals_as_user_errors(TagDeletePayload)
    async def tag_delete(self, info: strawberry.Info, input: TagDeleteInput) -> TagDeletePayload:
        await tag_service(info).delete(decode_input_id(input.id, "Tag", ("input", "id")))
        return TagDeletePayload(deleted_tag_id=input.id)

    @strawberry.mutation(
        description="Tags many customers at once, creating unknown tag names.",
        permission_classes=[requires(Scope.TAGS_WRITE)],
    )
    @refusals_as_user_errors(CustomerTagsPayload)
    async def customer_tags_add(
        self, info: strawberry.Info, input: CustomerTagsInput
    ) -> CustomerTagsPayload:
        return await _change_tags(info, input, attach=True)

    @strawberry.mutation(
        description="Takes tags off many customers at once.",
        permission_classes=[requires(Scope.TAGS_WRITE)],
    )
    @refusals_as_user_errors(CustomerTagsPayload)
    async def customer_tags_remove(
        self, info: strawberry.Info, input: CustomerTagsInput
    ) -> CustomerTagsPayload:
        return await _change_tags(info, input, attach=False)
