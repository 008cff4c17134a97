"""The order of the outer middleware; `create_app` calls `install_edge` once."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware

from api.http.auth_log import install_auth_log_filter
from api.http.cors import cors_options
from api.http.headers import SecurityHeaders
from api.http.rate_limits import RateLimit, RateLimits
from api.settings import Settings


def install_edge(app: Starlette, settings: Settings) -> None:
    """Adds the outer middleware, outermost last: headers on every answer (429s and
    CORS refusals too), CORS around the limiter so a browser can read a 429, and the
    limiter before any body is read."""
    install_auth_log_filter()
    limits = RateLimits.from_settings(settings)
    app.state.rate_limits = limits
    app.add_middleware(RateLimit, limits=limits)
    app.add_middleware(CORSMiddleware, **cors_options(settings))
    app.add_middleware(SecurityHeaders)
