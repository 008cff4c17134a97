"""Customer inputs: the profile fields (written once) and the inputs that carry them."""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from strawberry.scalars import JSON

from api.conversion import unset_to_domain
from api.customers.identity_types import IdentityType
from api.customers.types import Gender
from api.errors import decode_input_id
from domain import customers as domain
from domain import identities


@strawberry.input(
    description="An id another system knows a customer by. namespace: the WeChat app id "
    "for WECHAT_OPENID, the brand's name for the kind of id for CUSTOM, omitted otherwise."
)
class IdentityInput:
    type: IdentityType  # type: ignore[valid-type]
    value: str
    namespace: str | None = None


def identity_input_of(data: IdentityInput) -> identities.IdentityInput:
    return identities.IdentityInput(data.type, data.value, data.namespace)


@strawberry.input(name="ProfileFields")
class ProfileFields:
    """The eight profile fields every customer input carries, in SDL order."""

    email: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    name: str | None = strawberry.UNSET
    birthday: date | None = strawberry.UNSET
    gender: Gender | None = strawberry.UNSET  # type: ignore[valid-type]
    city: str | None = strawberry.UNSET
    acquisition_channel: str | None = strawberry.UNSET
    attributes: JSON | None = strawberry.UNSET


PROFILE_FIELDS = tuple(name for name in ProfileFields.__annotations__ if not name.startswith("_"))


def profile_of(data: ProfileFields) -> domain.ProfileInput:
    return domain.ProfileInput(**{f: unset_to_domain(getattr(data, f)) for f in PROFILE_FIELDS})


@strawberry.input(name="ByExternalId")
class _ByExternalId:
    external_id: str


@strawberry.input(name="ById")
class _ById:
    id: strawberry.ID


@strawberry.input(name="CustomerKeys")
class _CustomerKeys:
    id: strawberry.ID | None = None
    external_id: str | None = None
    identity: IdentityInput | None = None


# Strawberry lists the fields of the first base first: the key fields come first.
@strawberry.input(description="Profile fields; an omitted field is left as it is, null clears it.")
class CustomerUpsertInput(_ByExternalId, ProfileFields):
    identities: list[IdentityInput] | None = strawberry.field(
        default=None,
        description="Identities to attach in the same transaction (kept if already held by "
        "this customer; IDENTITY_TAKEN if another customer holds one). Never detaches.",
    )


@strawberry.input(description="Profile fields; an omitted field is left as it is, null clears it.")
class CustomerUpdateInput(_ById, ProfileFields):
    pass


@strawberry.input(
    name="CustomerRefInput",
    description="A customer named by another mutation, in exactly one way: id, "
    "externalId, or identity; or, with none of those, phone or email alone as a lookup "
    "key (found when exactly one customer not erased has it: NOT_FOUND or "
    "AMBIGUOUS_CUSTOMER otherwise). With externalId, profile fields create the customer "
    "on first sight (and are ignored once it exists).",
)
class CustomerRefInput(_CustomerKeys, ProfileFields):
    pass


def customer_ref_of(data: CustomerRefInput, path: tuple[str, ...]) -> domain.CustomerRef:
    """The domain reference; profile fields count as given only when any was sent."""
    key = decode_input_id(data.id, "Customer", (*path, "id")) if data.id else None
    given = any(getattr(data, f) is not strawberry.UNSET for f in PROFILE_FIELDS)
    return domain.CustomerRef(
        key,
        data.external_id,
        profile_of(data) if given else None,
        identity_input_of(data.identity) if data.identity is not None else None,
    )


@strawberry.input
class CustomerFilter:
    search: str | None = strawberry.field(
        default=None,
        description="Exact externalId or email, phone number ending, or part of the name.",
    )
    tag: str | None = strawberry.field(default=None, description="Only customers with this tag.")
    created_after: datetime | None = None
    created_before: datetime | None = None
    include_erased: bool = False


@strawberry.input
class CustomerEraseInput:
    id: strawberry.ID
