"""From domain objects to GraphQL types, and from GraphQL inputs to domain commands."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

import strawberry

from domain import customers as domain_customers

T = TypeVar("T")


def unset_to_domain(value: Any) -> Any:
    """An omitted input field (strawberry.UNSET) as the domain's "leave it as it is"."""
    return domain_customers.UNSET if value is strawberry.UNSET else value


def from_domain(cls: type[T], source: object, **overrides: Any) -> T:
    """Builds the GraphQL type `cls` from a domain object whose attributes share its
    field names; `overrides` gives the fields that differ (the global ID, private
    keys, money). Resolver fields are left to their resolvers."""
    values = {
        f.name: overrides[f.name] if f.name in overrides else getattr(source, f.name)
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        if f.init
    }
    return cls(**values)
