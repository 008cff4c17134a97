"""The limits an operator sets (LOYALTY_MAX_QUERY_*), gathered for the checks."""

from __future__ import annotations

from dataclasses import dataclass

from graphql import GraphQLError


@dataclass(frozen=True)
class QueryLimits:
    max_depth: int = 10
    max_aliases: int = 30
    max_cost: int = 50_000


class QueryTooComplex(GraphQLError):
    """A document refused for its shape or cost; the code clients switch on."""

    def __init__(self, message: str, *, limit: int, **details: int) -> None:
        super().__init__(
            message, extensions={"code": "QUERY_TOO_COMPLEX", "limit": limit, **details}
        )
