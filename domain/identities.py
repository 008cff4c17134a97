"""A customer's further identities: the ids other systems know them by.

The storefront's `external_id` stays on the customer; a POS, a marketplace shop or a
WeChat mini-program knows the same person by its own id, and attaching that id lets
it record an order or look the customer up by what it knows.

Rules (docs/identities.md):
- An identity is (type, namespace, value). `WECHAT_OPENID` is per WeChat app, so its
  namespace is the app id; a `CUSTOM` type's namespace is the brand's own name for
  the kind of id (e.g. ``"crm"``); every other type has no namespace.
- The value is trimmed, non-empty, at most `MAX_VALUE` characters, one line; it is
  kept exactly otherwise (openids and card numbers are case-sensitive).
- One customer holds an identity at a time: attaching one another customer holds is
  refused (`IDENTITY_TAKEN`); attaching one the customer already holds changes
  nothing and succeeds, so a POS may send it on every visit.
- Erasure deletes a customer's identities (the ledger stays), so the id is free
  for whoever holds it next.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from domain.errors import DomainError, ErrorCode, ErrorCollector
from domain.fields import required_text
from domain.unit_of_work import Port

MAX_NAMESPACE = 64
MAX_VALUE = 256
# A customer holds a few ids per system; the cap keeps `Customer.identities` a list.
MAX_PER_CUSTOMER = 50


class IdentityType(StrEnum):
    WECHAT_UNIONID = "WECHAT_UNIONID"
    WECHAT_OPENID = "WECHAT_OPENID"
    POS_CARD = "POS_CARD"
    TMALL = "TMALL"
    JD = "JD"
    CUSTOM = "CUSTOM"


# The types whose ids are only unique within a namespace, and what the namespace is.
NAMESPACE_OF: dict[IdentityType, str] = {
    IdentityType.WECHAT_OPENID: "the WeChat app id the openid belongs to",
    IdentityType.CUSTOM: "the brand's name for this kind of id",
}


@dataclass(frozen=True)
class IdentityInput:
    """An identity as sent: checked by `identity_of`."""

    type: IdentityType
    value: str | None
    namespace: str | None = None


@dataclass(frozen=True)
class Identity:
    """A checked identity; hashable, so a batch can be looked up in one query."""

    type: IdentityType
    namespace: str
    value: str


@dataclass(frozen=True)
class CustomerIdentity:
    customer_id: int
    identity: Identity
    created_at: datetime


def identity_of(given: IdentityInput, path: Sequence[str]) -> Identity:
    """The checked identity, or every problem of it at once (`InvalidInput`)."""
    errors = ErrorCollector()
    value = ""
    namespace = ""
    try:
        value = required_text(given.value, (*path, "value"), max_length=MAX_VALUE)
    except DomainError as exc:
        errors.capture(exc)
    needs = NAMESPACE_OF.get(given.type)
    sent = (given.namespace or "").strip()
    if needs is not None:
        try:
            namespace = required_text(sent, (*path, "namespace"), max_length=MAX_NAMESPACE)
        except DomainError as exc:
            errors.capture(
                DomainError(exc.code, exc.field, f"{exc.message} A {given.type} needs {needs}.")
            )
    elif sent:
        errors.add(
            ErrorCode.INVALID,
            (*path, "namespace"),
            f"A {given.type} identity has no namespace; only "
            f"{' and '.join(sorted(NAMESPACE_OF))} have one.",
        )
    errors.raise_if_any()
    return Identity(given.type, namespace, value)


def describe(identity: Identity) -> str:
    """The identity as a message shows it."""
    where = f" in {identity.namespace!r}" if identity.namespace else ""
    return f"{identity.type} {identity.value!r}{where}"


def to_add(identity: Identity, holder: int | None, customer_id: int, path: Sequence[str]) -> bool:
    """Whether attaching `identity` (held by `holder`, or nobody) to the customer adds
    a row: False when the customer holds it already; IDENTITY_TAKEN when another does."""
    if holder is None:
        return True
    if holder == customer_id:
        return False
    raise DomainError(
        ErrorCode.IDENTITY_TAKEN,
        (*path, "value"),
        f"Another customer holds {describe(identity)}; detach it there first.",
    )


def unique(identities: Sequence[Identity]) -> list[Identity]:
    """The identities in their order, each once."""
    return list(dict.fromkeys(identities))


class IdentityRepository(Protocol):
    async def holders(self, identities: Sequence[Identity]) -> dict[Identity, int]:
        """The customer holding each of these identities that anyone holds, in one
        statement."""
        ...

    async def of_customer(self, customer_id: int) -> list[CustomerIdentity]: ...

    async def add_many(
        self, customer_id: int, identities: Sequence[Identity], at: datetime
    ) -> None:
        """Adds the identities to the customer in one statement; one that a concurrent
        transaction attached first fails the transaction as a unique violation
        (`ConcurrentWrite`), which the service retries."""
        ...

    async def add_rows(self, rows: Sequence[tuple[int, Identity]], at: datetime) -> None:
        """Adds identities to many customers ((customer id, identity) pairs) in one
        statement; a unique violation fails the transaction as `add_many` does."""
        ...

    async def counts(self, customer_ids: Sequence[int]) -> dict[int, int]:
        """How many identities each of these customers holds (those holding none are
        left out), in one statement."""
        ...

    async def remove(self, customer_id: int, identity: Identity) -> bool:
        """Detaches the identity from this customer; False when they did not hold it."""
        ...

    async def remove_all(self, customer_id: int) -> int: ...


IDENTITIES: Port[IdentityRepository] = Port("identities")
