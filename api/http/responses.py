"""The one JSON shape of every refusal made at the HTTP level."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import JSONResponse

HTTP_ERROR_CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    429: "RATE_LIMITED",
}


def error_response(
    message: str, status: int, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """`{"errors": [{"message", "extensions": {"code"}}]}`: the GraphQL error shape,
    so that clients parse a transport refusal the way they parse any other error."""
    code = HTTP_ERROR_CODES.get(status, "BAD_REQUEST")
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": code}}]},
        status_code=status,
        headers=dict(headers or {}),
    )
