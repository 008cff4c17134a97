"""Checks of the edge's settings, so a typo fails at start naming the variable
instead of disabling a limit or CORS at run time."""

from __future__ import annotations

from urllib.parse import urlsplit

from limits import parse_many

STORAGE_SCHEMES = {"memory", "redis", "rediss", "redis+unix"}


def origin_list(value: object) -> object:
    """`LOYALTY_CORS_ORIGINS`: comma-separated origins such as https://shop.example.com."""
    if not isinstance(value, str):
        return value
    origins = [part.strip().rstrip("/") for part in value.split(",") if part.strip()]
    for origin in origins:
        parts = urlsplit(origin)
        if origin != "*" and (
            parts.scheme not in {"http", "https"} or not parts.netloc or parts.path or parts.query
        ):
            raise ValueError(
                f"LOYALTY_CORS_ORIGINS: {origin!r} is not an origin like https://shop.example.com"
            )
    return origins


def rate_limit(value: str, variable: str) -> str:
    try:
        parse_many(value)
    except ValueError:
        raise ValueError(
            f'{variable}: {value!r} is not a rate limit like "600/minute" or "10/second;600/hour"'
        ) from None
    return value


def storage_uri(value: str) -> str:
    """`LOYALTY_RATE_LIMIT_STORAGE`: memory:// (one process) or a Redis URL (shared)."""
    scheme = urlsplit(value).scheme
    if scheme not in STORAGE_SCHEMES:
        raise ValueError(
            f"LOYALTY_RATE_LIMIT_STORAGE: {value!r} must be memory:// or redis://host:port/db"
        )
    return value
