"""Rate limits per API key, per customer token, per address for anonymous calls,
and per address for failed authentications (on the `limits` library).

Counting happens before the request is authenticated, on a hash of the presented
credential, so that a flood costs no database look-up: a made-up credential only
gets its own empty bucket, and each one that then fails authentication counts
against its address. An address over the failure limit gets 429 for any request
carrying credentials until the window has moved on. Windows are moving windows,
kept in memory (one process) or in Redis (shared by every process).

If the store cannot be reached the request goes through and one line is logged:
an outage of Redis should not take the API down with it.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from api.http.responses import error_response
from api.settings import Settings
from domain.access import KEY_PREFIX

log = logging.getLogger("loyalty.rate_limits")

LIMITED_PATHS = frozenset({"/graphql"})


@dataclass(frozen=True)
class Refusal:
    message: str
    retry_after: int


class RateLimits:
    """The four limits and the store they count in."""

    def __init__(
        self,
        storage_uri: str,
        *,
        key: str,
        token: str,
        anonymous: str,
        auth_failures: str,
        prefix: str,
    ) -> None:
        options: dict[str, str] = {}
        if not storage_uri.startswith("memory:"):
            options = {"implementation": "redispy", "key_prefix": prefix}
        self.storage = storage_from_string(f"async+{storage_uri}", **options)
        self.limiter = MovingWindowRateLimiter(self.storage)
        self.key = parse_many(key)
        self.token = parse_many(token)
        self.anonymous = parse_many(anonymous)
        self.auth_failures = parse_many(auth_failures)

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimits:
        return cls(
            settings.rate_limit_storage,
            key=settings.rate_limit_key,
            token=settings.rate_limit_token,
            anonymous=settings.rate_limit_anonymous,
            auth_failures=settings.rate_limit_auth_failures,
            prefix=settings.rate_limit_prefix,
        )

    async def admit(self, address: str, authorization: str | None) -> Refusal | None:
        """Counts one request; a Refusal when it is over a limit."""
        credential = _credential(authorization)
        if credential is None:
            return await self._hit(
                self.anonymous, ("anonymous", address), "Too many requests without credentials"
            )
        for item in self.auth_failures:
            if not await self.limiter.test(item, "auth-failures", address):
                return await self._refusal(
                    item,
                    ("auth-failures", address),
                    "Too many failed authentications from this address",
                )
        if credential.startswith(KEY_PREFIX):
            return await self._hit(self.key, ("key", _digest(credential)), "Too many requests")
        return await self._hit(self.token, ("token", _digest(credential)), "Too many requests")

    async def authentication_failed(self, address: str) -> None:
        try:
            for item in self.auth_failures:
                await self.limiter.hit(item, "auth-failures", address)
        except Exception as exc:  # noqa: BLE001 - the store is down: count nothing
            log.warning("rate limit store unreachable: %s", _describe(exc))

    async def _hit(
        self, items: list[RateLimitItem], identifiers: tuple[str, ...], message: str
    ) -> Refusal | None:
        for item in items:
            if not await self.limiter.hit(item, *identifiers):
                return await self._refusal(item, identifiers, message)
        return None

    async def _refusal(
        self, item: RateLimitItem, identifiers: tuple[str, ...], message: str
    ) -> Refusal:
        stats = await self.limiter.get_window_stats(item, *identifiers)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        return Refusal(f"{message} (limit {item}); retry in {retry_after} s.", retry_after)


def _credential(authorization: str | None) -> str | None:
    if not authorization:
        return None
    return authorization.partition(" ")[2].strip() or authorization.strip()


def _digest(credential: str) -> str:
    """Buckets are named by a hash: the store never holds a usable secret."""
    return hashlib.sha256(credential.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"


def client_address(scope: Scope) -> str:
    """The peer address. uvicorn (as `loyalty serve` runs it) takes the caller's
    address from X-Forwarded-For only from the proxies it trusts (127.0.0.1 and ::1,
    or FORWARDED_ALLOW_IPS), so behind such a proxy this is the caller's, not the
    proxy's."""
    client = scope.get("client")
    return client[0] if client else "unknown"


class RateLimit:
    """Answers 429 with Retry-After, in the JSON error shape, for a caller over its limit."""

    def __init__(self, app: ASGIApp, limits: RateLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] not in LIMITED_PATHS
            or scope["method"] == "OPTIONS"
        ):
            await self.app(scope, receive, send)
            return
        authorization = Request(scope).headers.get("authorization")
        try:
            refusal = await self.limits.admit(client_address(scope), authorization)
        except Exception as exc:  # noqa: BLE001 - the store is down: let the request through
            log.warning("rate limit store unreachable: %s", _describe(exc))
            refusal = None
        if refusal is None:
            await self.app(scope, receive, send)
            return
        response = error_response(
            refusal.message, 429, headers={"Retry-After": str(refusal.retry_after)}
        )
        await response(scope, receive, send)


async def note_authentication(request: Request, failed: bool) -> None:
    """Called once the credentials were checked: a failure counts against the address."""
    if not failed or not request.headers.get("authorization"):
        return
    limits: RateLimits | None = getattr(request.app.state, "rate_limits", None)
    if limits is not None:
        await limits.authentication_failed(client_address(request.scope))
