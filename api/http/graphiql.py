"""GraphiQL served by this process, for development (not in production).

Its scripts and styles are the built files of the graphiql, react and react-dom npm
packages, committed under static/graphiql (`make graphiql-assets` refreshes them),
so the page works offline and never loads from a CDN. Everything is same-origin
and the bootstrap is a file, so the page's policy allows no inline script.
"""

from __future__ import annotations

from pathlib import Path

from starlette.responses import HTMLResponse
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

ASSETS = Path(__file__).parent / "static" / "graphiql"
ASSETS_PATH = "/graphiql"
PAGE_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)


def _wants_html(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"accept":
            return b"text/html" in value
    return False


class GraphiQLPage:
    """`GET /graphql` from a browser answers the page; anything else goes to `app`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.page = (ASSETS / "index.html").read_text(encoding="utf-8")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and _wants_html(scope):
            response = HTMLResponse(self.page, headers={"Content-Security-Policy": PAGE_POLICY})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def with_graphiql(app: ASGIApp, enabled: bool) -> ASGIApp:
    return GraphiQLPage(app) if enabled else app


def graphiql_routes(enabled: bool) -> list[Mount]:
    """The page's assets, or nothing when GraphiQL is off."""
    return [Mount(ASSETS_PATH, StaticFiles(directory=ASSETS))] if enabled else []
