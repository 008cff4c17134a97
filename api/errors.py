"""The two kinds of errors a caller sees.

- `UserError` in a payload's `userErrors`: a business refusal or bad input, with the
  field at fault and a code the client can switch on.
- A top-level GraphQL error with `extensions.code` (`UNAUTHENTICATED`, `FORBIDDEN`,
  `BAD_USER_INPUT`): only for who-is-calling problems and malformed requests. Any
  other exception is a bug and is masked in production.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import cast

import strawberry
from graphql import GraphQLError

from api.ids import BadGlobalId, WrongIdType, decode
from domain.errors import DomainError, ErrorCode, InvalidInput

UserErrorCode = strawberry.enum(
    cast(type[Enum], Enum("UserErrorCode", {code.name: code.value for code in ErrorCode})),
    name="UserErrorCode",
    description="Why a mutation refused its input.",
)


@strawberry.type(description="A refusal of one mutation input, naming the field at fault.")
class UserError:
    field: list[str] | None = strawberry.field(
        description='Path to the input field at fault, e.g. ["input", "email"].'
    )
    message: str
    code: UserErrorCode  # type: ignore[valid-type]


# Fields whose value is the client's own JSON: the path parts below them are the
# client's keys, kept exactly as sent.
JSON_FIELDS = frozenset({"attributes", "fields"})


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def input_path(field: Sequence[str], root: str = "input") -> list[str]:
    """The input path the client sent, for a field path.

    A domain path names the value in the domain's snake_case, relative to the command:
    ``("items", "3", "unit_price")`` becomes ``["input", "items", "3", "unitPrice"]``
    — the mutation's argument (`root`: "input", or e.g. "inputs" for a mutation whose
    argument is a list) then each part in camelCase; list indexes stay strings, and
    the parts under a JSON field (`attributes`) are the client's keys, kept as sent.
    A path whose first element already is `root` was written by the api layer itself
    (e.g. `decode_input_id(..., ("input", "customerId"))`): it is an input path
    already and is returned unchanged.
    """
    if field and field[0] == root:
        return list(field)
    path = [root]
    for index, part in enumerate(field):
        path.append(_camel(part))
        if part in JSON_FIELDS:
            path.extend(field[index + 1 :])
            break
    return path


def user_errors(exc: DomainError | InvalidInput, *, root: str = "input") -> list[UserError]:
    """The single place a refusal becomes `userErrors`: each field path is mapped to
    the input path the client sent (see `input_path`)."""
    errors = exc.errors if isinstance(exc, InvalidInput) else [exc]
    return [
        UserError(
            field=input_path(e.field, root) if e.field is not None else None,
            message=e.message,
            code=UserErrorCode[e.code.name],
        )
        for e in errors
    ]


class PublicError(GraphQLError):
    """An error whose message is safe to show, even in production."""

    code = "INTERNAL"

    def __init__(self, message: str) -> None:
        super().__init__(message, extensions={"code": self.code})


class Unauthenticated(PublicError):
    code = "UNAUTHENTICATED"


class Forbidden(PublicError):
    code = "FORBIDDEN"


class BadUserInput(PublicError):
    code = "BAD_USER_INPUT"


def decode_input_id(global_id: str, expected: str, field: Sequence[str]) -> int:
    """Decodes an ID from a mutation input, refusing it as a DomainError."""
    try:
        return decode(global_id, expected)
    except WrongIdType as exc:
        raise DomainError(ErrorCode.WRONG_TYPE, field, f"{field[-1]}: {exc}.") from None
    except BadGlobalId:
        raise DomainError(ErrorCode.INVALID, field, f"{field[-1]} is not a valid ID.") from None


def decode_input_ids(global_ids: Sequence[str], expected: str, field: Sequence[str]) -> list[int]:
    return [decode_input_id(gid, expected, (*field, str(i))) for i, gid in enumerate(global_ids)]
