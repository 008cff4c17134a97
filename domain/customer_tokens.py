"""Customer tokens: a storefront's short-lived pass for one shopper.

A token is a JWT (HS256, signed with the process secret key) naming the customer,
the API key that asked for it and when it expires (at most a day). A request with it
acts as that customer and nothing else. Revoking or expiring the issuing key ends
every token it issued, since each request checks the key too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from domain.clock import Clock
from domain.customers import CUSTOMERS, survivor_id
from domain.errors import DomainError, ErrorCode, present
from domain.unit_of_work import UnitOfWorkFactory

MAX_TTL_SECONDS = 86_400
ALGORITHM = "HS256"
AUDIENCE = "loyalty-graph:customer"


class InvalidToken(Exception):
    """Expired, tampered with, or not one of ours."""


@dataclass(frozen=True)
class TokenClaims:
    customer_id: int
    api_key_id: int
    expires_at: datetime


@dataclass(frozen=True)
class IssuedToken:
    token: str
    claims: TokenClaims


def encode(claims: TokenClaims, issued_at: datetime, secret: str) -> str:
    return jwt.encode(
        {
            "sub": str(claims.customer_id),
            "key": claims.api_key_id,
            "aud": AUDIENCE,
            "iat": int(issued_at.timestamp()),
            "exp": int(claims.expires_at.timestamp()),
        },
        secret,
        algorithm=ALGORITHM,
    )


def decode(token: str, secret: str, now: datetime) -> TokenClaims:
    try:
        body = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            options={"require": ["sub", "exp", "key", "aud"], "verify_exp": False},
        )
        expires_at = datetime.fromtimestamp(body["exp"], tz=now.tzinfo)
        claims = TokenClaims(int(body["sub"]), int(body["key"]), expires_at)
    except (jwt.PyJWTError, KeyError, TypeError, ValueError) as exc:
        raise InvalidToken("This customer token is not valid.") from exc
    # Expiry is checked against our clock (not the library's), so "now" is testable.
    if now >= claims.expires_at:
        raise InvalidToken("This customer token has expired.")
    return claims


class CustomerTokenService:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock, secret: str) -> None:
        self.uow_factory = uow_factory
        self.clock = clock
        self.secret = secret

    async def create(self, customer_id: int, ttl_seconds: int, api_key_id: int) -> IssuedToken:
        if not 1 <= ttl_seconds <= MAX_TTL_SECONDS:
            raise DomainError(
                ErrorCode.INVALID,
                ("ttl_seconds",),
                f"ttlSeconds must be between 1 and {MAX_TTL_SECONDS} (a day).",
            )
        async with self.uow_factory() as uow:
            # A merged customer's id gives a token for its survivor (docs/merging.md).
            customer = await uow.repo(CUSTOMERS).get(await survivor_id(uow, customer_id))
        if customer is None:
            raise DomainError(ErrorCode.NOT_FOUND, ("customer_id",), "No customer has this id.")
        if customer.erased_at is not None:
            raise DomainError(
                ErrorCode.ERASED, ("customer_id",), "This customer's data was erased."
            )
        now = self.clock.now()
        claims = TokenClaims(
            present(customer.id, "customer id"), api_key_id, now + timedelta(seconds=ttl_seconds)
        )
        return IssuedToken(encode(claims, now, self.secret), claims)
