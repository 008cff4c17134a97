"""The schema: every area's queries and mutations, plus the protections.

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
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from api.api_keys import ApiKeyMutation, ApiKeyQuery
from api.classification import ClassificationQuery
from api.customer_tokens import CustomerTokenMutation, CustomerTokenQuery
from api.customers import CustomerMutation, CustomerQuery
from api.errors import PublicError
from api.events import EventQuery
from api.feedback import FeedbackMutation
from api.metrics import MetricsQuery
from api.node import NodeQuery
from api.orders import OrderMutation, OrderQuery
from api.points import PointsMutation
from api.program import ProgramMutation, ProgramQuery
from api.protections.cost import cost_limit
from api.protections.limits import QueryLimits
from api.protections.messages import CodedErrors, NoSuggestions
from api.protections.scalars import SCALAR_OVERRIDES
from api.protections.shape import shape_rule
from api.referrals import ReferralMutation, ReferralQuery
from api.rewards import RewardMutation, RewardQuery
from api.segments import SegmentMutation, SegmentQuery
from api.tags import TagMutation, TagQuery
from api.tiers import TierMutation, TierQuery

DEFAULT_LIMITS = QueryLimits()
MAX_DEPTH = DEFAULT_LIMITS.max_depth
MAX_ALIASES = DEFAULT_LIMITS.max_aliases
MAX_TOKENS = 5000

Query = merge_types(
    "Query",
    (
        NodeQuery,
        CustomerQuery,
        CustomerTokenQuery,
        TagQuery,
        TierQuery,
        OrderQuery,
        ProgramQuery,
        ReferralQuery,
        RewardQuery,
        EventQuery,
        ClassificationQuery,
        MetricsQuery,
        SegmentQuery,
        ApiKeyQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        CustomerMutation,
        CustomerTokenMutation,
        TagMutation,
        TierMutation,
        OrderMutation,
        PointsMutation,
        ProgramMutation,
        ReferralMutation,
        RewardMutation,
        FeedbackMutation,
        SegmentMutation,
        ApiKeyMutation,
    ),
)


def is_internal(error: GraphQLError) -> bool:
    """Bugs are masked; parse/validation errors and our own public errors are not."""
    original = error.original_error
    return original is not None and not isinstance(original, PublicError | GraphQLError)


def build_schema(*, production: bool, limits: QueryLimits = DEFAULT_LIMITS) -> strawberry.Schema:
    shape_limits = shape_rule(limits)
    extensions: list[type[SchemaExtension] | Callable[[], SchemaExtension]] = [
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: AddValidationRules([shape_limits]),
        cost_limit(limits),
        CodedErrors,
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
    ]
    if production:
        extensions += [
            DisableIntrospection,
            lambda: MaskErrors(should_mask_error=is_internal),
            NoSuggestions,
        ]
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=production),
        scalar_overrides=SCALAR_OVERRIDES,
    )


schema = build_schema(production=False)
