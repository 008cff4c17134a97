"""Who is calling, and whether they may.

`Authorization: Bearer <key>` names an API key; the key's role gives its scopes.
Every resolver calls `require(info, scope)` before it reads or writes anything.
"""

from __future__ import annotations

from dataclasses import dataclass

import strawberry

from api.errors import Forbidden, Unauthenticated
from domain.access import ApiKey, Scope


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of one request."""

    api_key: ApiKey

    @property
    def scopes(self) -> frozenset[Scope]:
        return self.api_key.scopes


@dataclass(frozen=True)
class Anonymous:
    """No usable credentials; `reason` says why, for the UNAUTHENTICATED message."""

    reason: str


def require(info: strawberry.Info, *scopes: Scope) -> Principal:
    caller = info.context.caller
    if isinstance(caller, Anonymous):
        raise Unauthenticated(caller.reason)
    missing = [s.value for s in scopes if s not in caller.scopes]
    if missing:
        raise Forbidden(f"This API key lacks the scope {', '.join(missing)}.")
    return caller
