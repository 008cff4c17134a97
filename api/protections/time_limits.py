"""Time limits of a GraphQL request, and the codes a caller sees when one is hit.

Three limits keep one heavy caller from starving the others (README "Time limits"):

- PostgreSQL cancels any statement of the API's connections that runs longer than
  `LOYALTY_STATEMENT_TIMEOUT_MS` (persistence/database.py sets it per connection).
  The field that ran it answers null with `extensions.code = "TIMEOUT"`; the rest of
  the answer stands (HTTP 200).
- A caller waits at most `LOYALTY_DB_POOL_TIMEOUT_S` for a connection; a field that
  could not get one answers `extensions.code = "UNAVAILABLE"` (HTTP 200).
- The whole request (authentication, parsing, validation, execution) must finish
  within `LOYALTY_REQUEST_TIMEOUT_MS`; otherwise it is cancelled and answered with
  HTTP 503 and one error coded `TIMEOUT`. When authentication itself cannot get a
  connection or is cancelled, the answer is 503 `UNAVAILABLE` or `TIMEOUT` too.

Either way the caller gets the documented JSON error shape, never a 500 or a socket
left open, and the message says what to do.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from strawberry.extensions import SchemaExtension

from api.errors import PublicError

QUERY_CANCELED = "57014"  # SQLSTATE of a statement cancelled by statement_timeout

TIMEOUT_MESSAGE = "The request took longer than the server allows; ask for less, then retry."
UNAVAILABLE_MESSAGE = "The server is busy: no database connection was free in time; retry."


class Timeout(PublicError):
    code = "TIMEOUT"


class Unavailable(PublicError):
    code = "UNAVAILABLE"


def _causes(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)  # SQLAlchemy's DBAPIError wraps the driver's
        current = orig if isinstance(orig, BaseException) else current.__cause__


def time_limit_error(error: BaseException) -> PublicError | None:
    """The coded public error for a time limit that `error` (or its cause) hit."""
    for cause in _causes(error):
        if isinstance(cause, PoolTimeout):
            return Unavailable(UNAVAILABLE_MESSAGE)
        if getattr(cause, "sqlstate", None) == QUERY_CANCELED:
            return Timeout(TIMEOUT_MESSAGE)
        if isinstance(cause, TimeoutError):
            return Timeout(TIMEOUT_MESSAGE)
    return None


def _coded(error: GraphQLError) -> GraphQLError:
    if error.original_error is None or isinstance(error.original_error, PublicError):
        return error
    public = time_limit_error(error.original_error)
    if public is None:
        return error
    return GraphQLError(
        public.message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=public,
        extensions=public.extensions,
    )


class TimeLimitErrors(SchemaExtension):
    """A field cancelled by statement_timeout or refused a connection answers a coded
    error instead of "Unexpected error.". Listed last among the extensions, so that it
    runs before MaskErrors, which leaves public errors alone."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [_coded(error) for error in result.errors]
