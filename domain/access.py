"""Who may do what: scopes, the roles that bundle them, and API keys.

A key is shown once, at creation, and stored as the SHA-256 of its text. Keys carry
256 bits of randomness, so a fast hash is the right tool here (a password-grade hash
exists to slow down guessing of low-entropy secrets, and would only slow every
request). The first characters are kept in clear as a prefix so an admin can tell
keys apart in a list.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from domain.clock import Clock
from domain.errors import DomainError, ErrorCode, ErrorCollector
from domain.fields import required_text
from domain.unit_of_work import Port, UnitOfWorkFactory

KEY_PREFIX = "lg_"
MAX_KEY_NAME = 100
MAX_KEY_LIFETIME = timedelta(days=3650)


class Scope(StrEnum):
    CUSTOMERS_READ = "customers:read"
    CUSTOMERS_WRITE = "customers:write"
    CUSTOMERS_ERASE = "customers:erase"
    CUSTOMERS_MERGE = "customers:merge"
    # consentUpdate (docs/messaging.md): a storefront for any customer, a customer
    # token for its own.
    CONSENT_WRITE = "consent:write"
    TAGS_WRITE = "tags:write"
    API_KEYS_MANAGE = "api_keys:manage"
    PROGRAM_READ = "program:read"
    PROGRAM_WRITE = "program:write"
    ORDERS_WRITE = "orders:write"
    POINTS_ADJUST = "points:adjust"
    CUSTOMER_TOKENS_CREATE = "customer_tokens:create"
    REWARDS_READ = "rewards:read"
    REWARDS_WRITE = "rewards:write"
    REWARDS_REDEEM = "rewards:redeem"
    REDEMPTIONS_USE = "redemptions:use"
    REFERRALS_WRITE = "referrals:write"
    REFERRALS_READ = "referrals:read"
    EVENTS_READ = "events:read"
    METRICS_READ = "metrics:read"
    FEEDBACK_WRITE = "feedback:write"
    SEGMENTS_READ = "segments:read"
    SEGMENTS_WRITE = "segments:write"
    WEBHOOKS_MANAGE = "webhooks:manage"
    COUPONS_READ = "coupons:read"
    COUPONS_WRITE = "coupons:write"
    COUPONS_USE = "coupons:use"
    PROMOTIONS_READ = "promotions:read"
    PROMOTIONS_WRITE = "promotions:write"
    POINTS_PREVIEW = "points:preview"
    ACTIVITIES_WRITE = "activities:write"
    CAMPAIGNS_READ = "campaigns:read"
    CAMPAIGNS_WRITE = "campaigns:write"
    TOUCHPOINTS_WRITE = "touchpoints:write"
    IMPORTS_READ = "imports:read"
    IMPORTS_WRITE = "imports:write"
    JOURNEYS_READ = "journeys:read"
    JOURNEYS_WRITE = "journeys:write"


class Role(StrEnum):
    ADMIN = "ADMIN"
    STOREFRONT = "STOREFRONT"
    PARTNER = "PARTNER"
    ANALYST = "ANALYST"


ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.ADMIN: frozenset(Scope),
    Role.STOREFRONT: frozenset(
        {
            Scope.CUSTOMERS_READ,
            Scope.CUSTOMERS_WRITE,
            Scope.CONSENT_WRITE,
            Scope.PROGRAM_READ,
            Scope.ORDERS_WRITE,
            Scope.CUSTOMER_TOKENS_CREATE,
            Scope.REWARDS_READ,
            Scope.REWARDS_REDEEM,
            Scope.REDEMPTIONS_USE,
            Scope.REFERRALS_WRITE,
            Scope.FEEDBACK_WRITE,
            Scope.COUPONS_USE,
            Scope.PROMOTIONS_READ,
            Scope.POINTS_PREVIEW,
            Scope.ACTIVITIES_WRITE,
        }
    ),
    Role.PARTNER: frozenset(
        {
            Scope.CUSTOMERS_READ,
            Scope.CUSTOMERS_WRITE,
            Scope.PROGRAM_READ,
            Scope.ORDERS_WRITE,
            Scope.REWARDS_READ,
            Scope.REFERRALS_WRITE,
            Scope.FEEDBACK_WRITE,
            # Partner systems follow the outbox (`events`, filtered to their types).
            Scope.EVENTS_READ,
            Scope.PROMOTIONS_READ,
            Scope.POINTS_PREVIEW,
            Scope.ACTIVITIES_WRITE,
            # A sending system pages through a campaign's audience and reports what
            # became of each message.
            Scope.CAMPAIGNS_READ,
            Scope.TOUCHPOINTS_WRITE,
        }
    ),
    Role.ANALYST: frozenset(
        {
            Scope.CUSTOMERS_READ,
            Scope.PROGRAM_READ,
            Scope.REWARDS_READ,
            Scope.METRICS_READ,
            Scope.SEGMENTS_READ,
            Scope.COUPONS_READ,
            Scope.PROMOTIONS_READ,
            Scope.CAMPAIGNS_READ,
            Scope.JOURNEYS_READ,
        }
    ),
}

# What a customer token may do, and only for its own customer.
CUSTOMER_TOKEN_SCOPES: frozenset[Scope] = frozenset(
    {Scope.REWARDS_READ, Scope.REWARDS_REDEEM, Scope.POINTS_PREVIEW, Scope.CONSENT_WRITE}
)


@dataclass
class ApiKey:
    id: int | None
    name: str
    role: Role
    prefix: str
    key_hash: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def scopes(self) -> frozenset[Scope]:
        return ROLE_SCOPES[self.role]

    def is_usable(self, now: datetime) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or now < self.expires_at


@dataclass(frozen=True)
class IssuedKey:
    """The stored key and, this once, its secret text."""

    key: ApiKey
    secret: str


@dataclass(frozen=True)
class CreateApiKey:
    name: str
    role: Role
    expires_at: datetime | None = None


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_key_text() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


class ApiKeyRepository(Protocol):
    async def add(self, key: ApiKey) -> ApiKey: ...
    async def get(self, key_id: int) -> ApiKey | None: ...
    async def by_hash(self, key_hash: str) -> ApiKey | None: ...
    async def save(self, key: ApiKey) -> None: ...


API_KEYS: Port[ApiKeyRepository] = Port("api_keys")


class ApiKeyService:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self.uow_factory = uow_factory
        self.clock = clock

    async def create(self, command: CreateApiKey) -> IssuedKey:
        now = self.clock.now()
        errors = ErrorCollector()
        name = ""
        try:
            name = required_text(command.name, ("name",), max_length=MAX_KEY_NAME)
        except DomainError as exc:
            errors.capture(exc)
        if command.expires_at is not None and command.expires_at <= now:
            errors.add(ErrorCode.INVALID, ("expires_at",), "expiresAt is in the past.")
        elif command.expires_at is not None and command.expires_at > now + MAX_KEY_LIFETIME:
            errors.add(ErrorCode.INVALID, ("expires_at",), "expiresAt is over 10 years.")
        errors.raise_if_any()
        secret = new_key_text()
        async with self.uow_factory() as uow:
            key = await uow.repo(API_KEYS).add(
                ApiKey(
                    id=None,
                    name=name,
                    role=command.role,
                    prefix=secret[: len(KEY_PREFIX) + 6],
                    key_hash=hash_key(secret),
                    created_at=now,
                    expires_at=command.expires_at,
                )
            )
            await uow.commit()
        return IssuedKey(key, secret)

    async def revoke(self, key_id: int) -> ApiKey:
        async with self.uow_factory() as uow:
            key = await uow.repo(API_KEYS).get(key_id)
            if key is None:
                raise DomainError(ErrorCode.NOT_FOUND, ("id",), "No API key has this id.")
            if key.revoked_at is None:
                key = replace(key, revoked_at=self.clock.now())
                await uow.repo(API_KEYS).save(key)
            await uow.commit()
            return key
