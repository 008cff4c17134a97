"""Who is calling, and whether they may.

`Authorization: Bearer <secret>` carries either an API key (its role gives its
scopes) or a customer token (it acts as one customer, for a few actions only).
Every root field and mutation declares what it needs at the field, with
`permission_classes=[requires(Scope.X)]` (or `requires_api_key(...)` for what a
customer token may never do); a resolver that touches one customer's data also calls
`require_customer(info, scope, customer_id)` once it knows which customer.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

import strawberry
from strawberry.permission import BasePermission

from api.errors import Forbidden, Unauthenticated
from domain.access import CUSTOMER_TOKEN_SCOPES, ApiKey, Scope


@dataclass(frozen=True)
class Principal:
    """A system calling with an API key."""

    api_key: ApiKey

    @property
    def scopes(self) -> frozenset[Scope]:
        return self.api_key.scopes

    def may_touch(self, customer_id: int) -> bool:
        return True


@dataclass(frozen=True)
class CustomerPrincipal:
    """A shopper's app calling with a customer token issued by `api_key`."""

    api_key: ApiKey
    customer_id: int

    @property
    def scopes(self) -> frozenset[Scope]:
        return CUSTOMER_TOKEN_SCOPES

    def may_touch(self, customer_id: int) -> bool:
        return customer_id == self.customer_id


@dataclass(frozen=True)
class Anonymous:
    """No usable credentials; `reason` says why, for the UNAUTHENTICATED message."""

    reason: str


Caller = Principal | CustomerPrincipal


def require(info: strawberry.Info, *scopes: Scope) -> Caller:
    caller = info.context.caller
    if isinstance(caller, Anonymous):
        raise Unauthenticated(caller.reason)
    missing = [s.value for s in scopes if s not in caller.scopes]
    if missing:
        who = "A customer token" if isinstance(caller, CustomerPrincipal) else "This API key"
        raise Forbidden(f"{who} may not do this (needs {', '.join(missing)}).")
    return caller


def require_customer(info: strawberry.Info, scope: Scope, customer_id: int) -> Caller:
    """Like `require`, and the caller may act on this customer: an API key with the
    scope may act on any; a customer token only on its own customer."""
    caller = require(info, scope)
    if not caller.may_touch(customer_id):
        raise Forbidden("A customer token may only act on its own customer.")
    return caller


def api_key_only(info: strawberry.Info, *scopes: Scope) -> Principal:
    """For everything a customer token may never do, whatever the scope."""
    caller = require(info, *scopes)
    if isinstance(caller, CustomerPrincipal):
        raise Forbidden("A customer token may not do this.")
    return caller


def require_read_customer(info: strawberry.Info, customer_id: int) -> Caller:
    """Reading a linked customer (a referrer, a referee…): API keys need
    customers:read; a customer token may only see its own customer."""
    caller = require(info)
    if isinstance(caller, CustomerPrincipal):
        if customer_id != caller.customer_id:
            raise Forbidden("A customer token may only read its own customer.")
        return caller
    return require(info, Scope.CUSTOMERS_READ)


def caller_of(info: strawberry.Info) -> Caller:
    """The authenticated caller, for a resolver whose field already required one."""
    return require(info)


def api_key_of(info: strawberry.Info) -> Principal:
    """The calling API key, for a resolver whose field already refused tokens."""
    return api_key_only(info)


class ScopePermission(BasePermission):
    """Raises UNAUTHENTICATED / FORBIDDEN (with the message `require` gives) rather
    than strawberry's generic permission error."""

    scopes: ClassVar[tuple[Scope, ...]] = ()
    api_keys_only: ClassVar[bool] = False
    # When set, what a customer token needs instead of `scopes` (which then are an API key's).
    token_scopes: ClassVar[tuple[Scope, ...] | None] = None

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        if self.api_keys_only:
            api_key_only(info, *self.scopes)
        elif self.token_scopes is not None and isinstance(info.context.caller, CustomerPrincipal):
            require(info, *self.token_scopes)
        else:
            require(info, *self.scopes)
        return True


@cache
def _permission(scopes: tuple[Scope, ...], api_keys_only: bool) -> type[BasePermission]:
    name = "Requires" + "".join(s.name.title().replace("_", "") for s in scopes)
    return type(name, (ScopePermission,), {"scopes": scopes, "api_keys_only": api_keys_only})


def requires(*scopes: Scope) -> type[BasePermission]:
    """Any authenticated caller holding `scopes` (customer tokens included, whose
    scopes are CUSTOMER_TOKEN_SCOPES)."""
    return _permission(scopes, False)


def requires_per_caller(*, api_key: Scope, token: Scope) -> type[BasePermission]:
    """An API key holding `api_key`, or a customer token holding `token` (the resolver
    then still checks that the object is the token's own)."""
    name = f"Requires{api_key.name.title()}Or{token.name.title()}".replace("_", "")
    return type(name, (ScopePermission,), {"scopes": (api_key,), "token_scopes": (token,)})


def requires_api_key(*scopes: Scope) -> type[BasePermission]:
    """An API key holding `scopes`; a customer token never, whatever the scope."""
    return _permission(scopes, True)
