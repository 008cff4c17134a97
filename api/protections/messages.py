"""Error texts: coded for clients, and telling a production caller nothing about
the schema it cannot see.

A value that cannot be coerced (a bad DateTime, Decimal, enum value... in a variable
or a literal) is the caller's fault: it gets `extensions.code = BAD_USER_INPUT`,
and its message names the variable path or the argument. A document that
graphql-core's own validation budget gives up on is QUERY_TOO_COMPLEX.

graphql-core suggests names ("Did you mean 'first'?") for unknown fields,
arguments, types and enum values, in validation and in variable coercion alike;
strawberry's `disable_field_suggestions` only covers fields. With introspection off,
those suggestions would let anyone map the schema, so production drops them all.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from graphql import (
    BREAK,
    ArgumentNode,
    DocumentNode,
    GraphQLError,
    Node,
    ObjectFieldNode,
    Visitor,
    visit,
)
from graphql.validation.validate import ValidationAbortedError
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.extensions import SchemaExtension

SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


def _code(error: GraphQLError) -> str | None:
    if error.extensions and "code" in error.extensions:
        return None
    if isinstance(error, ValidationAbortedError):
        return "QUERY_TOO_COMPLEX"
    cause: BaseException | None = error
    while isinstance(cause, GraphQLError) and not isinstance(cause, StrawberryInputCoercionError):
        cause = cause.original_error
    if isinstance(cause, StrawberryInputCoercionError):
        return "BAD_USER_INPUT"
    if error.message.startswith("Variable '$") and " invalid value" in error.message:
        return "BAD_USER_INPUT"
    return None


def _copy(error: GraphQLError, message: str, extensions: dict | None) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions=extensions,
    )


def literal_path(document: DocumentNode | None, value: Node) -> str | None:
    """`argument.field.field` of a literal value in the document, to name it."""
    found: list[str] = []

    class Finder(Visitor):
        def enter(self, node: Node, key: Any, parent: Any, path: Any, ancestors: Any) -> Any:
            if node is value:
                names = [
                    a.name.value
                    for a in (*ancestors, parent)
                    if isinstance(a, ArgumentNode | ObjectFieldNode)
                ]
                found.append(".".join(names))
                return BREAK
            return None

    if document is not None:
        visit(document, Finder())
    return found[0] if found and found[0] else None


def coded(error: GraphQLError, document: DocumentNode | None = None) -> GraphQLError:
    code = _code(error)
    if code is None:
        return error
    message = error.message
    if isinstance(error, StrawberryInputCoercionError) and error.nodes:
        name = literal_path(document, error.nodes[0])
        if name is not None:
            message = f"Argument '{name}' has an invalid value: {message}"
    return _copy(error, message, {**(error.extensions or {}), "code": code})


def without_suggestion(error: GraphQLError) -> GraphQLError:
    message = SUGGESTION.sub("", error.message)
    if message == error.message:
        return error
    return _copy(error, message, error.extensions)


class CodedErrors(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            document = self.execution_context.graphql_document
            result.errors = [coded(error, document) for error in result.errors]


class NoSuggestions(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [without_suggestion(error) for error in result.errors]
