"""The `IdentityType` enum, in a module of its own: `Customer` (api/customers/types.py)
gathers every area's fields, among them `Customer.identities`, whose type uses it."""

from __future__ import annotations

import strawberry

from domain import identities

IdentityType = strawberry.enum(
    identities.IdentityType,
    name="IdentityType",
    description="Which system an identity comes from.",
)
