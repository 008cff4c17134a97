"""Tag inputs."""

from __future__ import annotations

import strawberry

from api.errors import decode_input_ids
from api.tags.types import TagSource
from domain import tags as domain
from domain.errors import DomainError, ErrorCollector
from domain.fields import bounded_list


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


def tag_change(data: CustomerTagsInput) -> domain.ChangeCustomerTags:
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
