"""Which errors production masks: bugs are hidden, what we mean to say is not."""

from __future__ import annotations

import pytest
from graphql import GraphQLError

from api.errors import BadUserInput, Forbidden, PublicError, Unauthenticated
from api.schema import is_internal


def raised_in_a_resolver(original: Exception) -> GraphQLError:
    """What graphql-core hands the masking extension for an exception in a resolver."""
    return GraphQLError(str(original), original_error=original)


@pytest.mark.parametrize("error", [Unauthenticated("no"), Forbidden("no"), BadUserInput("no")])
def test_our_public_errors_are_not_masked(error: PublicError):
    assert not is_internal(raised_in_a_resolver(error))
    assert error.extensions == {"code": error.code}


def test_validation_and_parse_errors_are_not_masked():
    assert not is_internal(GraphQLError("Cannot query field 'x' on type 'Query'."))


@pytest.mark.parametrize(
    "bug", [RuntimeError("password=hunter2"), KeyError("x"), ValueError("naive datetime")]
)
def test_any_other_exception_is_masked(bug: Exception):
    assert is_internal(raised_in_a_resolver(bug))
