"""The `CustomerIdentity` type."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.customers.identity_types import IdentityType
from domain import identities as domain


@strawberry.type(name="CustomerIdentity", description="An id another system knows the customer by.")
class CustomerIdentityType:
    type: IdentityType  # type: ignore[valid-type]
    namespace: str | None = strawberry.field(
        description="The WeChat app id (WECHAT_OPENID) or the brand's name for the kind of "
        "id (CUSTOM); null for the other types."
    )
    value: str
    created_at: datetime = strawberry.field(description="When it was attached.")

    @classmethod
    def from_domain(cls, identity: domain.Identity, created_at: datetime) -> CustomerIdentityType:
        return cls(
            type=identity.type,
            namespace=identity.namespace or None,
            value=identity.value,
            created_at=created_at,
        )

    @classmethod
    def of(cls, held: domain.CustomerIdentity) -> CustomerIdentityType:
        return cls.from_domain(held.identity, held.created_at)
