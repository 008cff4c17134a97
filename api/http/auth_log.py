"""Authentication and permission refusals logged as one line, not a traceback.

strawberry logs every GraphQL error with the traceback of its cause. For
UNAUTHENTICATED and FORBIDDEN that cause is our own refusal, the traceback says
nothing, and a stream of bad keys would fill the log (a 443-byte request wrote 46 KB).
This filter rewrites those records to one WARNING line: code, message and path.
"""

from __future__ import annotations

import logging

from graphql import GraphQLError

STRAWBERRY_LOGGER = "strawberry.execution"
ONE_LINE_CODES = frozenset({"UNAUTHENTICATED", "FORBIDDEN"})


class OneLineAuthFailures(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        error = record.msg
        if not isinstance(error, GraphQLError):
            return True
        code = (error.extensions or {}).get("code")
        if code not in ONE_LINE_CODES:
            return True
        path = ".".join(str(part) for part in error.path or ())
        text = " ".join(error.message.split())
        record.msg = "%s: %s (path: %s)"
        record.args = (code, text, path or "-")
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        record.levelno = logging.WARNING
        record.levelname = logging.getLevelName(logging.WARNING)
        return True


def install_auth_log_filter() -> None:
    """Idempotent: create_app runs once per app, tests build many apps."""
    logger = logging.getLogger(STRAWBERRY_LOGGER)
    if not any(isinstance(f, OneLineAuthFailures) for f in logger.filters):
        logger.addFilter(OneLineAuthFailures())
