"""The operator console at /console, in development and in production.

A static page (plain ES modules, CSS and the vendored ECharts file under
static/console, `make console-assets` refreshes ECharts) that signs in with an
ADMIN or ANALYST key and calls nothing but POST /graphql, so it is also a reference
client of the public API. It needs no server-side state: the key stays in the
browser's sessionStorage and every request carries it as a Bearer header.

The page gets its own policy: scripts and styles from this origin only, no inline
script or style attribute, requests to this origin only. ECharts draws on canvas and
its tooltips are rendered as canvas text, so nothing needs 'unsafe-inline'.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

ASSETS = Path(__file__).parent / "static" / "console"
PAGE_PATH = "/console"
PAGE_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)


class ConsoleAssets(StaticFiles):
    """Static files that are revalidated on each load (they change with the release,
    and their names carry no version)."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "no-cache"
        return response


def console_routes() -> list[BaseRoute]:
    page = (ASSETS / "index.html").read_text(encoding="utf-8")

    async def show(request: Request) -> Response:
        return HTMLResponse(
            page,
            headers={"Content-Security-Policy": PAGE_POLICY, "Cache-Control": "no-cache"},
        )

    async def to_page(request: Request) -> Response:
        return RedirectResponse(PAGE_PATH, status_code=308)

    return [
        Route(PAGE_PATH, show, methods=["GET"]),
        Route(PAGE_PATH + "/", to_page, methods=["GET"]),
        # ECharts is 1.1 MB as written and about a third of that compressed.
        Mount(PAGE_PATH + "/assets", GZipMiddleware(ConsoleAssets(directory=ASSETS))),
    ]
