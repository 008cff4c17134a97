"""Which browser origins may call the API (`LOYALTY_CORS_ORIGINS`).

Callers authenticate with an `Authorization: Bearer` header, never cookies, so no
credentials mode is needed: an allowed origin may send `Authorization` and
`Content-Type`, and a page on any other origin gets no CORS headers, so its browser
keeps the answer from it. With no origins set (the default) only same-origin pages
and non-browser clients can read answers.
"""

from __future__ import annotations

from typing import Any

from api.settings import Settings

PREFLIGHT_CACHE_SECONDS = 600


def cors_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for Starlette's CORSMiddleware."""
    return {
        "allow_origins": settings.cors_origins,
        "allow_methods": ["GET", "POST"],
        "allow_headers": ["Authorization", "Content-Type"],
        "expose_headers": ["Retry-After"],
        "allow_credentials": False,
        "max_age": PREFLIGHT_CACHE_SECONDS,
    }
