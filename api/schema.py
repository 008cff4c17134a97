"""The schema: every area's queries and mutations, plus the protections.

The root types are assembled from what the area packages declare (api/areas.py):
adding an area edits nothing here.

`schema` (development settings) is what `loyalty export-schema` prints and what
schema.graphql must equal; `build_schema(production=True)` adds the production-only
hardening (no introspection, no field suggestions, masked errors) to the same types.
"""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    DisableIntrospection,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from api import areas
from api.errors import PublicError
from api.node import NodeQuery

MAX_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = 5000

# Every area package contributes its root fields (api/areas.py); NodeQuery is shared.
areas.load_all_areas()
Query = merge_types("Query", (NodeQuery, *areas.contributions(areas.QUERIES)))
Mutation = merge_types("Mutation", tuple(areas.contributions(areas.MUTATIONS)))


def is_internal(error: GraphQLError) -> bool:
    """Bugs are masked; parse/validation errors and our own public errors are not."""
    original = error.original_error
    return original is not None and not isinstance(original, PublicError | GraphQLError)


def build_schema(*, production: bool) -> strawberry.Schema:
    extensions = [
        lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
    ]
    if production:
        extensions += [DisableIntrospection, lambda: MaskErrors(should_mask_error=is_internal)]
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=production),
    )


schema = build_schema(production=False)
