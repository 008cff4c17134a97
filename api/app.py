"""The ASGI application: `POST /graphql`, GraphiQL in development, `GET /healthz`,
`GET /imports/{id}/errors.csv` (api/import_jobs/download.py).

Requests larger than the body limit are refused before they are parsed (a multipart
upload to /graphql, `importCreate`, has the upload limit instead); every non-GraphQL
error is a JSON body, never an HTML page.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.asgi import HTTPException as GraphQLHTTPException
from strawberry.file_uploads.utils import replace_placeholders_with_files

from api.api_keys.cache import KeyCache
from api.auth import Anonymous, Caller, CustomerPrincipal, Principal
from api.context import Context
from api.http.console import console_routes
from api.http.edge import install_edge
from api.http.graphiql import graphiql_routes, with_graphiql
from api.http.rate_limits import note_authentication
from api.http.transport import BadBody, StrictBody, parse_body
from api.import_jobs.download import errors_download
from api.messaging.routes import messaging_routes
from api.protections.documents import DocumentCache
from api.protections.time_limits import time_limit_error
from api.schema import build_schema
from api.settings import Settings, get_settings
from domain import customer_tokens
from domain.access import KEY_PREFIX, ApiKey, hash_key
from domain.access import Scope as AccessScope
from domain.clock import Clock, SystemClock
from persistence.database import Database

log = logging.getLogger("loyalty")


async def authenticate(
    request: Request, database: Database, clock: Clock, secret: str, keys: KeyCache
) -> Caller | Anonymous:
    """The caller of a request. Keys come from `keys`, an in-process cache of a few
    seconds (api/api_keys/cache.py says how revocation is bounded)."""
    header = request.headers.get("authorization")
    if not header:
        return Anonymous("No credentials: send Authorization: Bearer <API key or token>.")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return Anonymous("The Authorization header must be Bearer <API key or token>.")
    now = clock.now()
    if token.startswith(KEY_PREFIX):
        key = await keys.by_hash(database, hash_key(token))
        problem = _unusable(key, now, "API key")
        if problem or key is None:
            return Anonymous(problem or "Unknown API key.")
        return Principal(key)
    try:
        claims = customer_tokens.decode(token, secret, now)
    except customer_tokens.InvalidToken as exc:
        return Anonymous(str(exc))
    key = await keys.by_id(database, claims.api_key_id)
    problem = _unusable(key, now, "API key that issued this customer token")
    if problem or key is None:
        return Anonymous(problem or "Unknown API key.")
    return CustomerPrincipal(key, claims.customer_id)


def _unusable(key: ApiKey | None, now: datetime, what: str) -> str | None:
    if key is None:
        return f"Unknown {what}."
    if key.revoked_at is not None:
        return f"The {what} was revoked."
    if not key.is_usable(now):
        return f"The {what} has expired."
    return None


class LoyaltyGraphQL(GraphQL):
    def __init__(self, database: Database, settings: Settings, clock: Clock) -> None:
        self.documents = DocumentCache()
        super().__init__(
            build_schema(
                production=settings.is_production,
                limits=settings.query_limits(),
                documents=self.documents,
            ),
            graphql_ide=None,  # api/http/graphiql.py serves an offline page instead
            allow_queries_via_get=False,
            # The GraphQL multipart request spec, for importCreate's upload. Every
            # request needs an Authorization header, which a cross-site form cannot
            # send, so the multipart form is no CSRF door.
            multipart_uploads_enabled=True,
        )
        self.database = database
        self.settings = settings
        self.clock = clock
        self.keys = KeyCache(ttl=settings.api_key_cache_seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """As strawberry's, but a malformed request gets a JSON error, not plain text."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            async with asyncio.timeout(self._deadline_s(scope)):
                response = await self.run(Request(scope=scope, receive=receive))
        except GraphQLHTTPException as exc:
            response = graphql_error_response(exc.reason, exc.status_code)
        except Exception as exc:
            # The deadline passed, or authentication found no free connection: a coded
            # 503 (api/protections/time_limits.py), never a 500 or a hung socket.
            public = time_limit_error(exc)
            if public is None:
                raise
            log.warning("request refused: %s (%s)", public.code, type(exc).__name__)
            response = graphql_error_response(public.message, 503, code=public.code)
        await response(scope, receive, send)

    def _deadline_s(self, scope: Scope) -> float:
        """The request deadline; an upload (multipart) has its own, longer one: its
        body alone may take minutes to arrive."""
        if _is_multipart(scope):
            return self.settings.import_upload_timeout_s
        return self.settings.request_timeout_ms / 1000

    async def parse_multipart(self, request: Any) -> dict[str, Any]:
        """The GraphQL multipart request spec (importCreate's upload): `operations`
        passes the checks a JSON body passes (api/http/transport.py), `map` names
        each file's place in it, and a map that does not fit is a 400, never a 500.

        The caller is checked first, from the headers alone: only an API key that may
        create imports gets its body read, so nobody else can make the server spool
        a large upload to disk (401 without a usable key, 403 without the scope)."""
        caller = await self.caller_of(request)
        if isinstance(caller, Anonymous):
            raise GraphQLHTTPException(401, f"An upload needs an API key: {caller.reason}")
        if not isinstance(caller, Principal) or AccessScope.IMPORTS_WRITE not in caller.scopes:
            raise GraphQLHTTPException(
                403, f"An upload needs an API key with the {AccessScope.IMPORTS_WRITE.value} scope."
            )
        try:
            form = await request.get_form_data()
        except HTTPException as exc:  # starlette's: no boundary, too many parts, a part too large
            raise GraphQLHTTPException(
                400, f"Unable to parse the multipart body: {exc.detail}"
            ) from None
        except ValueError:
            raise GraphQLHTTPException(400, "Unable to parse the multipart body.") from None
        operations, files_map = form.form.get("operations"), form.form.get("map", "{}")
        if not isinstance(operations, str) or not isinstance(files_map, str):
            raise GraphQLHTTPException(
                400, 'A multipart request needs "operations" and "map" text fields.'
            )
        try:
            parsed = parse_body(operations.encode("utf-8"))
        except BadBody as exc:
            raise GraphQLHTTPException(400, str(exc)) from None
        try:
            places = json.loads(files_map)
        except ValueError:
            raise GraphQLHTTPException(400, '"map" is not JSON.') from None
        if not isinstance(places, dict) or not all(
            isinstance(paths, list) and all(isinstance(p, str) for p in paths)
            for paths in places.values()
        ):
            raise GraphQLHTTPException(400, '"map" must map each file to a list of paths.')
        try:
            return replace_placeholders_with_files(parsed, places, form.files)
        except (KeyError, IndexError, ValueError, TypeError):
            raise GraphQLHTTPException(
                400, '"map" names a file or a path that the request does not have.'
            ) from None

    async def caller_of(self, request: Request) -> Caller | Anonymous:
        return await authenticate(
            request, self.database, self.clock, self.settings.secret_key, self.keys
        )

    def encode_json(self, data: object) -> str | bytes:
        """orjson: several times faster than json.dumps on a page of results. Anything
        it refuses (an integer beyond 64 bits) goes through json as before."""
        try:
            return orjson.dumps(data)
        except TypeError:  # orjson.JSONEncodeError is a TypeError
            return super().encode_json(data)

    async def get_context(self, request: Request, response: Response) -> Context:  # type: ignore[override]
        caller = await authenticate(
            request, self.database, self.clock, self.settings.secret_key, self.keys
        )
        await note_authentication(request, failed=isinstance(caller, Anonymous))
        return Context(
            database=self.database,
            settings=self.settings,
            clock=self.clock,
            caller=caller,
            keys=self.keys,
        )


HTTP_ERROR_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",  # an upload without a usable key (parse_multipart)
    403: "FORBIDDEN",  # an upload with a key that may not import
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
}


def graphql_error_response(message: str, status: int, *, code: str | None = None) -> JSONResponse:
    """A transport-level refusal in the GraphQL error shape clients already parse."""
    code = code or HTTP_ERROR_CODES.get(status, "BAD_REQUEST")
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": code}}]}, status_code=status
    )


class BodyTooLarge(Exception):
    """Raised from `receive` mid-stream; not an HTTPException, so that Starlette's
    handlers let it through to BodyLimit, which answers in the one 413 shape."""


class BodyLimit:
    """Refuses request bodies over `limit` bytes with 413, counted as they stream in;
    a multipart POST to /graphql (an upload) has `upload_limit` instead."""

    def __init__(self, app: ASGIApp, limit: int, upload_limit: int | None = None) -> None:
        self.app = app
        self.limit = limit
        self.upload_limit = upload_limit or limit

    def _limit_of(self, scope: Scope) -> tuple[int, str]:
        if scope["path"] == "/graphql" and _is_multipart(scope):
            return self.upload_limit, "Upload over {} bytes (LOYALTY_IMPORT_MAX_UPLOAD_BYTES)."
        return self.limit, "Request body over {} bytes."

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, message = self._limit_of(scope)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._too_large(scope, receive, send, message.format(limit))
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except BodyTooLarge:
            await self._too_large(scope, receive, send, message.format(limit))

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, message: str) -> None:
        response = graphql_error_response(message, 413)
        await response(scope, receive, send)


def _is_multipart(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return value.decode("latin-1").lower().startswith("multipart/form-data")
    return False


async def healthz(request: Request) -> JSONResponse:
    database: Database = request.app.state.database
    try:
        async with database.sessions() as session:
            await session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means "not healthy"
        log.exception("health check failed")
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    detail = exc.detail if isinstance(exc, HTTPException) else "Internal server error."
    return JSONResponse({"error": detail}, status_code=status)


def serve_app() -> Starlette:
    """The app `loyalty serve` runs in each worker process: `create_app` with the
    settings of the environment, then the collector tuned for a long-running
    process (api/garbage.py). Tests call `create_app` directly."""
    from api.garbage import SERVER_YOUNG, collect_less_garbage

    app = create_app()
    collect_less_garbage(SERVER_YOUNG)
    return app


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    clock: Clock | None = None,
) -> Starlette:
    settings = settings or get_settings()
    owns_database = database is None
    database = database or Database.connect(
        settings.database_url, limits=settings.database_limits()
    )
    graphql = LoyaltyGraphQL(database, settings, clock or SystemClock())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        if owns_database:
            await database.dispose()

    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route(
                "/graphql",
                with_graphiql(graphql, not settings.is_production),
                methods=["GET", "POST"],
            ),
            Route(
                "/imports/{id}/errors.csv",
                errors_download(database, graphql.caller_of),
                methods=["GET"],
            ),
            *messaging_routes(database, settings, clock or SystemClock()),
            *graphiql_routes(not settings.is_production),
            *console_routes(),
        ],
        exception_handlers={HTTPException: http_error, 500: http_error},
        lifespan=lifespan,
    )
    app.state.database = database
    app.state.settings = settings
    app.state.keys = graphql.keys  # the API key cache, for the tests
    app.state.documents = graphql.documents  # parse/validation counts, for the tests
    app.add_middleware(StrictBody)
    app.add_middleware(
        BodyLimit, limit=settings.max_body_bytes, upload_limit=settings.import_max_upload_bytes
    )
    install_edge(app, settings)
    return app
