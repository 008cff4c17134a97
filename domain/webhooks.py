"""Webhooks: events pushed to subscribers' URLs, signed to the Standard Webhooks spec.

How an event reaches a receiver
-------------------------------
1. A service appends the event to the outbox in the transaction of its change
   (domain/events.py).
2. The worker fans events out (`WebhookDispatcher.fan_out`): one shared cursor walks
   the outbox in the order the `events` API pages it (persistence/events.py: on
   PostgreSQL below the snapshot horizon, so an event whose transaction commits
   late is delayed, never skipped) and makes one delivery per active subscription
   whose event types include the event's type. The cursor moves in the transaction
   that inserts the deliveries, so a crash repeats nothing and loses nothing.
3. The worker claims due deliveries (`claim`: a short transaction, `FOR UPDATE SKIP
   LOCKED` on PostgreSQL, that stamps a lease), sends them concurrently outside any
   transaction, and records each outcome (`send`). A delivery is claimed only when
   no earlier delivery of the same subscription and customer is still pending, so a
   receiver gets one customer's events in outbox order.
4. A failure (timeout, connection error, any non-2xx answer, a refused address)
   schedules the next attempt after an exponential delay with jitter
   (`RetryPolicy`); after `max_attempts` failures the delivery is DEAD.

Secrets: Standard Webhooks signs with HMAC-SHA256, so the sender needs the raw
secret; a hash would not do. Secrets are therefore stored sealed (`SecretBox`,
authenticated encryption under a key derived from the process's secret key), so
the database alone does not reveal them.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import random
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken
from standardwebhooks.webhooks import Webhook

from domain.clock import Clock
from domain.errors import DomainError, ErrorCode, ErrorCollector
from domain.events import Event, EventType
from domain.fields import optional_text, required_text
from domain.unit_of_work import Port, UnitOfWorkFactory

MAX_URL_LENGTH = 2000
MAX_DESCRIPTION_LENGTH = 200
SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
DEFAULT_GRACE = timedelta(hours=24)
MAX_GRACE = timedelta(days=7)
MAX_REPLAY = 10_000
ERROR_TEXT_LIMIT = 500


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"
    """Waiting for its first or next attempt (`next_attempt_at`)."""
    SUCCEEDED = "SUCCEEDED"
    DEAD = "DEAD"
    """Failed `max_attempts` times in a row; only a retry or a replay sends it again."""


@dataclass(frozen=True)
class Subscription:
    url: str
    event_types: tuple[str, ...]
    active: bool
    secret_sealed: str
    created_at: datetime
    updated_at: datetime
    description: str = ""
    previous_secret_sealed: str | None = None
    previous_secret_expires_at: datetime | None = None
    id: int | None = None

    def signing_secrets(self, box: SecretBox, now: datetime) -> list[str]:
        """The current secret, and the previous one while its grace period lasts."""
        found = [box.open(self.secret_sealed)]
        if (
            self.previous_secret_sealed is not None
            and self.previous_secret_expires_at is not None
            and now < self.previous_secret_expires_at
        ):
            found.append(box.open(self.previous_secret_sealed))
        return found


@dataclass(frozen=True)
class Delivery:
    subscription_id: int
    event_id: int
    event_type: str
    customer_id: int | None
    status: DeliveryStatus
    created_at: datetime
    next_attempt_at: datetime
    attempts: int = 0
    """Every attempt ever made, retries and replays' re-sends of this row included."""
    failures: int = 0
    """Failures since the last success, manual retry or creation; DEAD at the limit."""
    last_attempt_at: datetime | None = None
    last_response_code: int | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None
    id: int | None = None


@dataclass(frozen=True)
class NewDelivery:
    subscription_id: int
    event_id: int
    event_type: str
    customer_id: int | None


@dataclass(frozen=True)
class Claimed:
    """A delivery this worker holds a lease on, with what sending it needs."""

    delivery: Delivery
    subscription: Subscription
    event: Event


@dataclass(frozen=True)
class AttemptResult:
    """What one POST came to: a status code, or an error (timeout, refused address…)."""

    status_code: int | None = None
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class WebhookRepository(Protocol):
    async def add_subscription(self, subscription: Subscription) -> Subscription: ...
    async def subscription(
        self, subscription_id: int, *, for_update: bool = False
    ) -> Subscription | None: ...
    async def save_subscription(self, subscription: Subscription) -> None: ...
    async def delete_subscription(self, subscription_id: int) -> None: ...
    async def active_subscriptions(self) -> list[Subscription]: ...

    async def lock_fanout_cursor(self) -> tuple[bool, tuple[int, ...] | None]:
        """(False, None) when another worker holds it; else (True, the position)."""
        ...

    async def events_after(
        self, cursor: tuple[int, ...] | None, limit: int
    ) -> list[tuple[Event, tuple[int, ...]]]: ...
    async def save_fanout_cursor(self, cursor: tuple[int, ...]) -> None: ...
    async def add_deliveries(self, deliveries: Sequence[NewDelivery], now: datetime) -> int: ...
    async def replay(
        self, subscription: Subscription, since: datetime, now: datetime, limit: int
    ) -> int: ...

    async def claim_due(
        self, now: datetime, lease_until: datetime, worker: str, limit: int
    ) -> list[Claimed]: ...
    async def delivery(self, delivery_id: int, *, for_update: bool = False) -> Delivery | None: ...
    async def save_delivery(self, delivery: Delivery) -> None:
        """Saves the delivery and ends any lease on it."""
        ...

    async def release(self, delivery_ids: Sequence[int], worker: str) -> None: ...


WEBHOOKS: Port[WebhookRepository] = Port("webhooks")


# ---- secrets ------------------------------------------------------------------------


class SecretBox:
    """Seals webhook secrets for storage: Fernet (AES-128-CBC + HMAC-SHA256) under a
    key derived from the process's secret key. Changing that key makes stored
    secrets unreadable: rotate each subscription's secret after such a change."""

    def __init__(self, key_material: str) -> None:
        digest = hashlib.sha256(b"loyalty-graph webhook secrets\0" + key_material.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as exc:
            raise UnreadableSecret(
                "a webhook secret cannot be opened: was LOYALTY_SECRET_KEY changed? "
                "Rotate the subscription's secret."
            ) from exc


class UnreadableSecret(Exception):
    pass


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signed_headers(
    message_id: str, body: str, at: datetime, signing_secrets: Sequence[str]
) -> dict[str, str]:
    """The Standard Webhooks headers: one `v1,` signature per secret, space-separated,
    so a receiver holding either the new or the previous secret verifies."""
    signatures = [Webhook(s).sign(message_id, at, body) for s in signing_secrets]
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": " ".join(signatures),
        "content-type": "application/json",
    }


def message_id(subscription_id: int, event_id: int) -> str:
    """Stable across retries and replays of one event to one subscription, so a
    receiver can use it to drop duplicates (delivery is at least once)."""
    return f"msg_{subscription_id}_{event_id}"


# ---- URLs -----------------------------------------------------------------------------

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


def is_loopback_host(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def forbidden_address(address: str) -> bool:
    """Private, loopback, link-local, multicast, reserved or unspecified: never a
    webhook target in production (IPv4-mapped IPv6 addresses checked as IPv4)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def check_url(url: str, *, production: bool, field: Sequence[str] = ("url",)) -> str:
    """https only in production (and never to an address literal that is not
    public); in development also http, but only to loopback hosts."""
    url = required_text(url, field, max_length=MAX_URL_LENGTH)
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        _ = parts.port
    except ValueError:
        raise DomainError(ErrorCode.INVALID, field, "Not a URL.") from None
    if parts.scheme not in ("http", "https") or not host:
        raise DomainError(ErrorCode.INVALID, field, "An http(s) URL with a host is required.")
    if parts.username or parts.password:
        raise DomainError(ErrorCode.INVALID, field, "A webhook URL carries no credentials.")
    if production:
        if parts.scheme != "https":
            raise DomainError(ErrorCode.INVALID, field, "Webhook URLs must use https.")
        try:
            literal: str | None = str(ipaddress.ip_address(host))
        except ValueError:
            literal = None
        if is_loopback_host(host) or (literal is not None and forbidden_address(literal)):
            raise DomainError(
                ErrorCode.INVALID, field, "Webhook URLs must not point at a private address."
            )
    elif parts.scheme == "http" and not is_loopback_host(host):
        raise DomainError(
            ErrorCode.INVALID, field, "http is allowed only for loopback hosts; use https."
        )
    return url


def check_event_types(
    given: Sequence[str], field: Sequence[str] = ("event_types",)
) -> tuple[str, ...]:
    known = {t.value for t in EventType}
    unknown = sorted({t for t in given if t not in known})
    if unknown:
        raise DomainError(
            ErrorCode.INVALID,
            field,
            f"Unknown event type(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}.",
        )
    if not given:
        raise DomainError(ErrorCode.REQUIRED, field, "Name at least one event type.")
    return tuple(sorted(set(given)))


# ---- admin commands ---------------------------------------------------------------


@dataclass(frozen=True)
class CreateSubscription:
    url: str
    event_types: Sequence[str]
    description: str = ""
    active: bool = True


@dataclass(frozen=True)
class UpdateSubscription:
    id: int
    url: str | None = None
    event_types: Sequence[str] | None = None
    description: str | None = None
    active: bool | None = None


@dataclass(frozen=True)
class IssuedSubscription:
    subscription: Subscription
    secret: str
    """Shown once: only the sealed form is stored."""


class WebhookService:
    """Subscriptions and manual re-sends (admin commands)."""

    def __init__(
        self, uow_factory: UnitOfWorkFactory, clock: Clock, box: SecretBox, *, production: bool
    ) -> None:
        self.uow_factory = uow_factory
        self.clock = clock
        self.box = box
        self.production = production

    def _description(self, text: str) -> str:
        return optional_text(text, ("description",), max_length=MAX_DESCRIPTION_LENGTH) or ""

    def _checked(
        self, url: str | None, types: Sequence[str] | None, description: str | None
    ) -> tuple[str | None, tuple[str, ...] | None, str | None]:
        errors = ErrorCollector()
        checked_url = checked_types = checked_description = None
        try:
            checked_url = None if url is None else check_url(url, production=self.production)
        except DomainError as exc:
            errors.capture(exc)
        try:
            checked_types = None if types is None else check_event_types(types)
        except DomainError as exc:
            errors.capture(exc)
        try:
            checked_description = None if description is None else self._description(description)
        except DomainError as exc:
            errors.capture(exc)
        errors.raise_if_any()
        return checked_url, checked_types, checked_description

    async def create(self, command: CreateSubscription) -> IssuedSubscription:
        url, types, description = self._checked(
            command.url, command.event_types, command.description
        )
        now = self.clock.now()
        secret = new_secret()
        async with self.uow_factory() as uow:
            saved = await uow.repo(WEBHOOKS).add_subscription(
                Subscription(
                    url=url or "",
                    event_types=types or (),
                    active=command.active,
                    secret_sealed=self.box.seal(secret),
                    description=description or "",
                    created_at=now,
                    updated_at=now,
                )
            )
            await uow.commit()
        return IssuedSubscription(saved, secret)

    async def update(self, command: UpdateSubscription) -> Subscription:
        url, types, description = self._checked(
            command.url, command.event_types, command.description
        )
        async with self.uow_factory() as uow:
            found = await self._locked(uow.repo(WEBHOOKS), command.id)
            changed = replace(
                found,
                url=url if url is not None else found.url,
                event_types=types if types is not None else found.event_types,
                description=description if description is not None else found.description,
                active=command.active if command.active is not None else found.active,
                updated_at=self.clock.now(),
            )
            await uow.repo(WEBHOOKS).save_subscription(changed)
            await uow.commit()
        return changed

    async def delete(self, subscription_id: int) -> Subscription:
        """Removes the subscription and its deliveries (sent or not)."""
        async with self.uow_factory() as uow:
            found = await self._locked(uow.repo(WEBHOOKS), subscription_id)
            await uow.repo(WEBHOOKS).delete_subscription(subscription_id)
            await uow.commit()
        return found

    async def rotate_secret(
        self, subscription_id: int, grace: timedelta = DEFAULT_GRACE
    ) -> IssuedSubscription:
        """A new secret; the old one still signs (beside the new) until `grace` ends."""
        if grace < timedelta(0) or grace > MAX_GRACE:
            raise DomainError(
                ErrorCode.INVALID,
                ("grace_seconds",),
                f"The grace period is between 0 and {int(MAX_GRACE.total_seconds())} seconds.",
            )
        now = self.clock.now()
        secret = new_secret()
        async with self.uow_factory() as uow:
            found = await self._locked(uow.repo(WEBHOOKS), subscription_id)
            changed = replace(
                found,
                secret_sealed=self.box.seal(secret),
                previous_secret_sealed=found.secret_sealed if grace else None,
                previous_secret_expires_at=now + grace if grace else None,
                updated_at=now,
            )
            await uow.repo(WEBHOOKS).save_subscription(changed)
            await uow.commit()
        return IssuedSubscription(changed, secret)

    async def retry(self, delivery_id: int) -> Delivery:
        """Sends a delivery again as soon as a worker is free, with a fresh set of
        attempts (any status: a succeeded one is sent once more)."""
        now = self.clock.now()
        async with self.uow_factory() as uow:
            found = await uow.repo(WEBHOOKS).delivery(delivery_id, for_update=True)
            if found is None:
                raise DomainError(ErrorCode.NOT_FOUND, ("id",), "No such webhook delivery.")
            changed = replace(found, status=DeliveryStatus.PENDING, failures=0, next_attempt_at=now)
            await uow.repo(WEBHOOKS).save_delivery(changed)
            await uow.commit()
        return changed

    async def replay(self, subscription_id: int, since: datetime) -> int:
        """New deliveries, in outbox order, of every event of the subscription's types
        that occurred at or after `since` and was already fanned out (later ones
        reach it anyway). At most MAX_REPLAY at a time; returns how many."""
        now = self.clock.now()
        async with self.uow_factory() as uow:
            found = await self._locked(uow.repo(WEBHOOKS), subscription_id)
            count = await uow.repo(WEBHOOKS).replay(found, since, now, MAX_REPLAY)
            await uow.commit()
        return count

    @staticmethod
    async def _locked(repo: WebhookRepository, subscription_id: int) -> Subscription:
        found = await repo.subscription(subscription_id, for_update=True)
        if found is None:
            raise DomainError(ErrorCode.NOT_FOUND, ("id",), "No such webhook subscription.")
        return found


# ---- delivery -----------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """Delay before attempt n+1 after n failures: base·2^(n-1), capped, times a
    random factor in [1 - jitter, 1] so failed receivers are not hit in lockstep."""

    max_attempts: int = 10
    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=2)
    jitter: float = 0.5

    def delay(self, failures: int, rng: random.Random) -> timedelta:
        exponent = max(0, failures - 1)
        nominal: timedelta = min(self.cap, self.base * float(2**exponent))
        factor = 1.0 - self.jitter * rng.random()
        return timedelta(seconds=nominal.total_seconds() * factor)


class WebhookSender(Protocol):
    """The transport (api/webhooks/transport.py): one POST with a timeout, no
    redirects, a capped read and, in production, the address guard."""

    async def post(self, url: str, headers: dict[str, str], body: bytes) -> AttemptResult: ...


Render = Callable[[Event], dict[str, Any]]


def default_render(event: Event) -> dict[str, Any]:
    """The Standard Webhooks payload shape: type, timestamp, data."""
    return {
        "type": event.type.value,
        "timestamp": event.occurred_at.isoformat(),
        "data": {"eventId": event.id, "customerId": event.customer_id, **event.payload},
    }


@dataclass
class RoundReport:
    fanned_out: int = 0
    sent: int = 0
    succeeded: int = 0
    failed: int = 0
    dead: int = 0


class WebhookDispatcher:
    """The worker's delivery work: fan-out, claim, send, record."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        box: SecretBox,
        sender: WebhookSender,
        *,
        worker: str,
        policy: RetryPolicy | None = None,
        lease: timedelta = timedelta(seconds=120),
        render: Render = default_render,
        rng: random.Random | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        self.clock = clock
        self.box = box
        self.sender = sender
        self.worker = worker
        self.policy = policy or RetryPolicy()
        self.lease = lease
        self.render = render
        self.rng = rng or random.Random()

    async def fan_out(self, batch: int = 500) -> int:
        """Deliveries for the next `batch` outbox events; returns how many were made."""
        async with self.uow_factory() as uow:
            repo = uow.repo(WEBHOOKS)
            held, cursor = await repo.lock_fanout_cursor()
            if not held:
                return 0
            events = await repo.events_after(cursor, batch)
            if not events:
                return 0
            subscriptions = await repo.active_subscriptions()
            made = [
                NewDelivery(s.id, e.id, e.type.value, e.customer_id)
                for e, _ in events
                for s in subscriptions
                if e.type.value in s.event_types and s.id is not None and e.id is not None
            ]
            count = await repo.add_deliveries(made, self.clock.now())
            await repo.save_fanout_cursor(events[-1][1])
            await uow.commit()
        return count

    async def claim(self, limit: int) -> list[Claimed]:
        now = self.clock.now()
        async with self.uow_factory() as uow:
            claimed = await uow.repo(WEBHOOKS).claim_due(now, now + self.lease, self.worker, limit)
            await uow.commit()
        return claimed

    async def release(self, delivery_ids: Sequence[int]) -> None:
        """Gives claimed deliveries back unsent (shutdown): due again at once."""
        if not delivery_ids:
            return
        async with self.uow_factory() as uow:
            await uow.repo(WEBHOOKS).release(delivery_ids, self.worker)
            await uow.commit()

    async def send(self, claimed: Claimed) -> Delivery:
        """One attempt of a claimed delivery, its outcome recorded."""
        delivery = claimed.delivery
        sent_at = self.clock.now()
        body = json.dumps(self.render(claimed.event), separators=(",", ":"), default=str)
        try:
            signing = claimed.subscription.signing_secrets(self.box, sent_at)
        except UnreadableSecret as exc:
            result = AttemptResult(error=str(exc))
        else:
            headers = signed_headers(
                message_id(delivery.subscription_id, delivery.event_id), body, sent_at, signing
            )
            result = await self.sender.post(claimed.subscription.url, headers, body.encode())
        return await self._record(delivery, result, sent_at)

    async def _record(self, delivery: Delivery, result: AttemptResult, at: datetime) -> Delivery:
        error = None if result.succeeded else (result.error or f"HTTP {result.status_code}")
        changed = replace(
            delivery,
            attempts=delivery.attempts + 1,
            last_attempt_at=at,
            last_response_code=result.status_code,
            last_error=error[:ERROR_TEXT_LIMIT] if error else None,
        )
        if result.succeeded:
            changed = replace(changed, status=DeliveryStatus.SUCCEEDED, failures=0, delivered_at=at)
        else:
            failures = delivery.failures + 1
            if failures >= self.policy.max_attempts:
                changed = replace(changed, status=DeliveryStatus.DEAD, failures=failures)
            else:
                changed = replace(
                    changed,
                    failures=failures,
                    next_attempt_at=at + self.policy.delay(failures, self.rng),
                )
        async with self.uow_factory() as uow:
            await uow.repo(WEBHOOKS).save_delivery(changed)
            await uow.commit()
        return changed
