"""The schema: every area's queries and mutations, plus the protections.

The root types are assembled from what the area packages declare (api/areas.py):
adding an area edits nothing here.

`schema` (development settings) is what `loyalty export-schema` prints and what
schema.graphql must equal; `build_schema(production=True)` adds the production-only
hardening (no introspection, no field suggestions, masked errors) to the same types.
"""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaskErrors,
    MaxTokensLimiter,
    SchemaExtension,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from api import areas
from api.errors import PublicError
from api.node import NodeQuery
from api.protections.cost import cost_limit
from api.protections.documents import DocumentCache, cached_documents
from api.protections.limits import QueryLimits
from api.protections.messages import CodedErrors, NoSuggestions
from api.protections.scalars import SCALAR_OVERRIDES, NoNulInStrings
from api.protections.shape import shape_rule
from api.protections.time_limits import TimeLimitErrors

DEFAULT_LIMITS = QueryLimits()
MAX_DEPTH = DEFAULT_LIMITS.max_depth
MAX_ALIASES = DEFAULT_LIMITS.max_aliases
MAX_TOKENS = 5000

# Every area package contributes its root fields (api/areas.py); NodeQuery is shared.
areas.load_all_areas()
Query = merge_types("Query", (NodeQuery, *areas.contributions(areas.QUERIES)))
Mutation = merge_types("Mutation", tuple(areas.contributions(areas.MUTATIONS)))


def is_internal(error: GraphQLError) -> bool:
    """Bugs are masked; parse/validation errors and our own public errors are not."""
    original = error.original_error
    return original is not None and not isinstance(original, PublicError | GraphQLError)


def build_schema(
    *,
    production: bool,
    limits: QueryLimits = DEFAULT_LIMITS,
    documents: DocumentCache | None = None,
) -> strawberry.Schema:
    """The schema; `documents` caches parse + validation by text (one per schema)."""
    shape_limits = shape_rule(limits)  # one class per schema, so cached validations hit
    extensions: list[type[SchemaExtension] | Callable[[], SchemaExtension]] = [
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: AddValidationRules([shape_limits, NoNulInStrings]),
        cost_limit(limits),
        CodedErrors,
        cached_documents(documents or DocumentCache()),
    ]
    if production:
        extensions += [
            DisableIntrospection,
            lambda: MaskErrors(should_mask_error=is_internal),
            NoSuggestions,
        ]
    # Last, so its hook runs first on the way out: time limits are coded before masking.
    extensions.append(TimeLimitErrors)
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=production),
        scalar_overrides=SCALAR_OVERRIDES,
    )


schema = build_schema(production=False)
