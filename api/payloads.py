"""The one mutation runner: a domain refusal becomes the payload's `userErrors`.

A mutation resolver is written for success only and decorated with
`@refusals_as_user_errors(ThePayload)`: a `DomainError` or `InvalidInput` raised by
the service (or by decoding an input ID) returns `ThePayload(user_errors=...)`, its
other fields at their defaults (null, false, empty); `root` names the mutation's
argument (`input` unless said). The conversion itself is
`api.errors.user_errors`. Authentication and authorization errors pass through: they
are top-level GraphQL errors, not refusals.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from api.errors import UserError, user_errors
from domain.errors import DomainError, InvalidInput

P = TypeVar("P")
Params = ParamSpec("Params")


def refusals_as_user_errors(
    payload: Callable[..., P], *, root: str = "input"
) -> Callable[[Callable[Params, Awaitable[P]]], Callable[Params, Awaitable[P]]]:
    def decorate(resolver: Callable[Params, Awaitable[P]]) -> Callable[Params, Awaitable[P]]:
        @functools.wraps(resolver)
        async def run(*args: Params.args, **kwargs: Params.kwargs) -> P:
            try:
                return await resolver(*args, **kwargs)
            except (DomainError, InvalidInput) as exc:
                return refused(payload, exc, root=root)

        return run

    return decorate


def refused(
    payload: Callable[..., P], exc: DomainError | InvalidInput, *, root: str = "input"
) -> P:
    """The payload of a refusal: only its userErrors set, their paths under the
    mutation's argument `root`."""
    errors: list[UserError] = user_errors(exc, root=root)
    return payload(user_errors=errors)
