"""Campaigns: a segment reached over a channel, split into variants and a holdout.

The rules are in docs/campaigns.md; in short:

- A campaign names a saved segment, a channel, one or more variants with integer
  weights (two or more make an A/B test), a holdout share (a control group that gets
  nothing) and an attribution window in days (default 7). Until it starts every field
  may change; once started only its name and end may.
- `campaignStart` (on or after `startsAt`) evaluates the segment as of that instant
  and freezes it as the audience, each member with its arm (a variant's name or
  `HOLDOUT`), in one INSERT … SELECT. The start instant is the campaign's `startedAt`.
- Assignment is a pure function of (campaign id, customer id): `bucket_of` below is a
  two-round multiply-add hash modulo the Mersenne prime 2³¹ − 1, salted per campaign
  by SHA-256 of its id, so every process, and the database (`persistence/campaigns.py`
  spells the same integer arithmetic in SQL), gives every customer the same arm.
- Touchpoints (SENT, DELIVERED, OPENED, CLICKED, ADDED_TO_CART, FAILED) are recorded by
  the sending system, up to 1,000 per call, each idempotent on its idempotencyKey; none
  before the start, no SENT at or after the end (the events after a send may be). A
  touchpoint for a customer outside the audience, in the holdout, or of another
  variant than the customer's is recorded with a `flag` and counts nowhere.
- A counted order placed in [first SENT, first SENT + attributionDays) converts; the
  order is attributed (when it is recorded) to the campaign whose latest SENT at or
  before it is the latest (last touch). Holdout customers convert on
  [startedAt, startedAt + attributionDays).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Protocol

from domain.clock import Clock
from domain.customers import CUSTOMERS, CustomerRef, ref_keys, survivor_keys
from domain.errors import DomainError, ErrorCode, ErrorCollector, InvalidInput, present
from domain.fields import bounded_list, optional_text, required_text
from domain.idempotency import fingerprint, retrying
from domain.unit_of_work import Port, UnitOfWorkFactory

MAX_NAME = 200
MAX_VARIANT_NAME = 50
MAX_MESSAGE = 4000
MAX_VARIANTS = 10
MAX_WEIGHT = 10_000
MAX_ATTRIBUTION_DAYS = 365
DEFAULT_ATTRIBUTION_DAYS = 7
MAX_KEY = 128
HOLDOUT = "HOLDOUT"

# Assignment: customers fall in BUCKETS equal buckets; the holdout takes the first
# holdout_share × BUCKETS of them, the variants share the rest by weight.
BUCKETS = 10_000
PRIME = 2**31 - 1


class Channel(StrEnum):
    SMS = "SMS"
    EMAIL = "EMAIL"
    WECHAT = "WECHAT"
    APP_PUSH = "APP_PUSH"
    WEBHOOK = "WEBHOOK"
    OTHER = "OTHER"


class TouchpointEvent(StrEnum):
    SENT = "SENT"
    DELIVERED = "DELIVERED"
    OPENED = "OPENED"
    CLICKED = "CLICKED"
    ADDED_TO_CART = "ADDED_TO_CART"
    FAILED = "FAILED"


# The funnel's steps, in order (FAILED is recorded but is no step).
FUNNEL_STEPS = (
    TouchpointEvent.SENT,
    TouchpointEvent.DELIVERED,
    TouchpointEvent.OPENED,
    TouchpointEvent.CLICKED,
    TouchpointEvent.ADDED_TO_CART,
)


class TouchpointFlag(StrEnum):
    """Why a recorded touchpoint counts in no funnel and attributes no order."""

    OUTSIDE_AUDIENCE = "OUTSIDE_AUDIENCE"  # not in the frozen audience
    HOLDOUT = "HOLDOUT"  # the customer is in the holdout: they should get nothing
    OTHER_VARIANT = "OTHER_VARIANT"  # the customer's arm is another variant


@dataclass(frozen=True)
class Variant:
    name: str
    weight: int
    message_template: str | None = None
    coupon_template_id: int | None = None


@dataclass
class Campaign:
    id: int | None
    name: str
    channel: Channel
    segment_id: int | None  # None: a journey's campaign (its audience grows as it acts)
    variants: list[Variant]
    holdout_share: Decimal
    attribution_days: int
    starts_at: datetime
    ends_at: datetime | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    archived_at: datetime | None = None

    @property
    def ab_test(self) -> bool:
        return len(self.variants) >= 2

    @property
    def measures_journey(self) -> bool:
        """A journey's campaign: made by its first activation, renamed with it, never
        edited or archived by hand (an end date would refuse the journey's
        touchpoints; the journey's own moves keep it)."""
        return self.segment_id is None

    def variant(self, name: str) -> Variant | None:
        return next((v for v in self.variants if v.name == name), None)

    def thresholds(self) -> list[tuple[int, str]]:
        return thresholds(self.holdout_share, self.variants)

    def arm_of(self, customer_id: int) -> str:
        return arm_of(present(self.id, "campaign id"), customer_id, self.thresholds())

    def holdout_window(self) -> tuple[datetime, datetime] | None:
        if self.started_at is None:
            return None
        return self.started_at, self.started_at + timedelta(days=self.attribution_days)


# ---- assignment -------------------------------------------------------------------


def salt(campaign_id: int) -> tuple[int, int, int, int]:
    """The campaign's hash coefficients (a1, b1, a2, b2): from SHA-256 of its id, so
    the same in every process (never Python's per-process `hash()`)."""
    digest = hashlib.sha256(f"campaign:{campaign_id}".encode()).digest()
    words = [int.from_bytes(digest[i : i + 8], "big") for i in range(0, 32, 8)]
    return (
        1 + words[0] % (PRIME - 1),
        words[1] % PRIME,
        1 + words[2] % (PRIME - 1),
        words[3] % PRIME,
    )


def bucket_of(campaign_id: int, customer_id: int) -> int:
    """The customer's bucket in [0, BUCKETS): two rounds of (a·x + b) mod (2³¹ − 1).
    Every product stays below 2⁶², so SQL's BIGINT arithmetic gives the same number."""
    a1, b1, a2, b2 = salt(campaign_id)
    first = (a1 * (customer_id % PRIME) + b1) % PRIME
    return ((a2 * first + b2) % PRIME) % BUCKETS


def thresholds(holdout_share: Decimal, variants: Sequence[Variant]) -> list[tuple[int, str]]:
    """(exclusive upper bucket, arm) in bucket order: the holdout first (when it has
    any share), then each variant's slice of the rest in proportion to its weight."""
    held = int(holdout_share * BUCKETS)
    found: list[tuple[int, str]] = [(held, HOLDOUT)] if held > 0 else []
    total = sum(v.weight for v in variants)
    cumulative = 0
    for variant in variants:
        cumulative += variant.weight
        found.append((held + (BUCKETS - held) * cumulative // total, variant.name))
    return found


def arm_of(campaign_id: int, customer_id: int, bounds: Sequence[tuple[int, str]]) -> str:
    """The variant's name, or HOLDOUT, that (campaign, customer) falls in."""
    bucket = bucket_of(campaign_id, customer_id)
    for upper, arm in bounds:
        if bucket < upper:
            return arm
    raise AssertionError("the last threshold is BUCKETS")


# ---- input ------------------------------------------------------------------------


@dataclass(frozen=True)
class VariantInput:
    name: Any
    weight: Any = 1
    message_template: Any = None
    coupon_template_id: int | None = None


@dataclass(frozen=True)
class CampaignFields:
    """What a create or an update sends; UNSET_FIELD (None here) keeps the value on update."""

    name: Any = None
    channel: Channel | None = None
    segment_id: int | None = None
    variants: Sequence[VariantInput] | None = None
    holdout_share: Any = None
    attribution_days: Any = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    clear_ends_at: bool = False


def _variants(inputs: Sequence[VariantInput], errors: ErrorCollector) -> list[Variant]:
    if not inputs:
        errors.add(ErrorCode.REQUIRED, ("variants",), "A campaign needs at least one variant.")
        return []
    if len(inputs) > MAX_VARIANTS:
        errors.add(
            ErrorCode.TOO_MANY,
            ("variants",),
            f"variants has {len(inputs)} items; the limit is {MAX_VARIANTS}.",
        )
        return []
    found: list[Variant] = []
    seen: set[str] = set()
    for index, data in enumerate(inputs):
        path = ("variants", str(index))
        try:
            name = required_text(data.name, (*path, "name"), max_length=MAX_VARIANT_NAME)
        except DomainError as exc:
            errors.capture(exc)
            continue
        if name.upper() == HOLDOUT:
            errors.add(ErrorCode.INVALID, (*path, "name"), "HOLDOUT names the control group.")
            continue
        if name.casefold() in seen:
            errors.add(ErrorCode.DUPLICATE, (*path, "name"), f"Two variants are named {name!r}.")
            continue
        seen.add(name.casefold())
        weight = data.weight
        if isinstance(weight, bool) or not isinstance(weight, int) or not 1 <= weight <= MAX_WEIGHT:
            errors.add(
                ErrorCode.INVALID,
                (*path, "weight"),
                f"weight must be a whole number from 1 to {MAX_WEIGHT}.",
            )
            continue
        try:
            message = optional_text(
                data.message_template,
                (*path, "message_template"),
                max_length=MAX_MESSAGE,
                multiline=True,
            )
        except DomainError as exc:
            errors.capture(exc)
            continue
        found.append(Variant(name, weight, message, data.coupon_template_id))
    return found


def _share(value: Any, errors: ErrorCollector) -> Decimal | None:
    try:
        share = Decimal(str(value))
    except (InvalidOperation, ValueError):
        share = Decimal(-1)
    if not share.is_finite() or not Decimal(0) <= share < Decimal(1):
        errors.add(ErrorCode.INVALID, ("holdout_share",), "holdoutShare must be ≥ 0 and < 1.")
        return None
    if share != share.quantize(Decimal("0.0001")):
        errors.add(ErrorCode.INVALID, ("holdout_share",), "holdoutShare has at most 4 decimals.")
        return None
    return share.quantize(Decimal("0.0001"))


def _days(value: Any, errors: ErrorCollector) -> int | None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 1 <= value <= MAX_ATTRIBUTION_DAYS
    ):
        errors.add(
            ErrorCode.INVALID,
            ("attribution_days",),
            f"attributionDays must be a whole number from 1 to {MAX_ATTRIBUTION_DAYS}.",
        )
        return None
    return value


def _utc(value: datetime, path: tuple[str, ...], errors: ErrorCollector) -> datetime | None:
    if value.tzinfo is None:
        errors.add(ErrorCode.INVALID, path, f"{path[-1]} needs a UTC offset.")
        return None
    return value


def apply_fields(campaign: Campaign, fields: CampaignFields, *, creating: bool) -> Campaign:
    """The campaign with the sent fields checked and applied; every problem at once.
    A started campaign changes only its name and its end (READ_ONLY otherwise)."""
    errors = ErrorCollector()
    changes: dict[str, Any] = {}
    if campaign.started_at is not None:
        frozen = {
            "channel": fields.channel,
            "segment_id": fields.segment_id,
            "variants": fields.variants,
            "holdout_share": fields.holdout_share,
            "attribution_days": fields.attribution_days,
            "starts_at": fields.starts_at,
        }
        for name, value in frozen.items():
            if value is not None:
                errors.add(
                    ErrorCode.READ_ONLY,
                    (name,),
                    f"The campaign has started: its {name} is fixed with its audience.",
                )
    if fields.name is not None or creating:
        try:
            changes["name"] = required_text(fields.name, ("name",), max_length=MAX_NAME)
        except DomainError as exc:
            errors.capture(exc)
    if fields.channel is not None:
        changes["channel"] = fields.channel
    elif creating:
        errors.add(ErrorCode.REQUIRED, ("channel",), "channel is required.")
    if fields.segment_id is not None:
        changes["segment_id"] = fields.segment_id
    elif creating:
        errors.add(ErrorCode.REQUIRED, ("segment_id",), "segmentId is required.")
    if fields.variants is not None or creating:
        changes["variants"] = _variants(fields.variants or (), errors)
    if fields.holdout_share is not None:
        changes["holdout_share"] = _share(fields.holdout_share, errors)
    if fields.attribution_days is not None:
        changes["attribution_days"] = _days(fields.attribution_days, errors)
    if fields.starts_at is not None:
        changes["starts_at"] = _utc(fields.starts_at, ("starts_at",), errors)
    elif creating:
        errors.add(ErrorCode.REQUIRED, ("starts_at",), "startsAt is required.")
    if fields.ends_at is not None:
        changes["ends_at"] = _utc(fields.ends_at, ("ends_at",), errors)
    elif fields.clear_ends_at:
        changes["ends_at"] = None
    errors.raise_if_any()
    updated = replace(campaign, **changes)
    if updated.ends_at is not None and updated.ends_at <= updated.starts_at:
        raise DomainError(ErrorCode.INVALID, ("ends_at",), "endsAt must be after startsAt.")
    return updated


@dataclass(frozen=True)
class RecordTouchpoint:
    campaign_id: int
    customer: CustomerRef
    variant: Any
    event: TouchpointEvent
    at: datetime
    idempotency_key: Any


@dataclass
class Touchpoint:
    id: int | None
    campaign_id: int
    customer_id: int
    variant: str
    event: TouchpointEvent
    at: datetime
    idempotency_key: str
    request_hash: str
    recorded_at: datetime
    flag: TouchpointFlag | None = None
    # For a SENT: the end of the attribution window it opens (at + attributionDays).
    window_ends_at: datetime | None = None


@dataclass(frozen=True)
class TouchpointResult:
    touchpoint: Touchpoint
    replayed: bool


Refusal = DomainError | InvalidInput


# ---- ports ------------------------------------------------------------------------


class CampaignRepository(Protocol):
    async def get(self, campaign_id: int, *, for_update: bool = False) -> Campaign | None: ...
    async def add(self, campaign: Campaign) -> Campaign: ...
    async def save(self, campaign: Campaign) -> None: ...
    async def segment_rule(self, segment_id: int) -> str | None:
        """A saved segment's rule text, or None when no saved segment has this id."""
        ...

    async def missing_coupon_templates(self, template_ids: Sequence[int]) -> set[int]: ...
    async def freeze_audience(self, campaign: Campaign, rule: str, as_of: datetime) -> int:
        """Inserts the segment's members as of `as_of` with their arms, in one
        INSERT … SELECT; returns how many."""
        ...

    async def many(self, campaign_ids: Sequence[int]) -> dict[int, Campaign]: ...
    async def arms(self, pairs: Sequence[tuple[int, int]]) -> dict[tuple[int, int], str]:
        """The frozen arm of each (campaign id, customer id) in an audience."""
        ...

    async def touchpoints_by_keys(self, keys: Sequence[str]) -> dict[str, Touchpoint]: ...
    async def add_touchpoints(self, touchpoints: Sequence[Touchpoint]) -> None: ...
    async def attribute_orders(self, order_ids: Sequence[int]) -> None:
        """Attributes these new orders to the campaign each was last sent before it,
        within that campaign's window: one INSERT … SELECT for the whole batch."""
        ...


CAMPAIGNS: Port[CampaignRepository] = Port("campaigns")


# ---- the service ------------------------------------------------------------------


class CampaignService:
    def __init__(
        self, uow_factory: UnitOfWorkFactory, clock: Clock, *, phone_region: str | None = None
    ) -> None:
        self.uow_factory = uow_factory
        self.clock = clock
        self.phone_region = phone_region

    async def create(self, fields: CampaignFields) -> Campaign:
        now = self.clock.now()
        blank = Campaign(
            id=None,
            name="",
            channel=Channel.OTHER,
            segment_id=None,
            variants=[],
            holdout_share=Decimal(0),
            attribution_days=DEFAULT_ATTRIBUTION_DAYS,
            starts_at=now,
            ends_at=None,
            created_at=now,
            updated_at=now,
        )
        campaign = apply_fields(blank, fields, creating=True)
        async with self.uow_factory() as uow:
            await self._check_references(uow.repo(CAMPAIGNS), campaign)
            campaign = await uow.repo(CAMPAIGNS).add(campaign)
            await uow.commit()
            return campaign

    async def update(self, campaign_id: int, fields: CampaignFields) -> Campaign:
        async with self.uow_factory() as uow:
            campaign = await self._get(uow.repo(CAMPAIGNS), campaign_id)
            _refuse_journeys(campaign)
            updated = apply_fields(campaign, fields, creating=False)
            if updated != campaign:
                await self._check_references(uow.repo(CAMPAIGNS), updated)
                updated.updated_at = self.clock.now()
                await uow.repo(CAMPAIGNS).save(updated)
            await uow.commit()
            return updated

    async def archive(self, campaign_id: int) -> Campaign:
        async with self.uow_factory() as uow:
            campaign = await self._get(uow.repo(CAMPAIGNS), campaign_id)
            _refuse_journeys(campaign)
            if campaign.archived_at is None:
                now = self.clock.now()
                campaign = replace(campaign, archived_at=now, updated_at=now)
                await uow.repo(CAMPAIGNS).save(campaign)
            await uow.commit()
            return campaign

    async def start(self, campaign_id: int) -> tuple[Campaign, int | None]:
        """Freezes the audience as of now; a started campaign is answered as it is
        (None: nothing was frozen by this call)."""
        now = self.clock.now()
        async with self.uow_factory() as uow:
            repo = uow.repo(CAMPAIGNS)
            campaign = await self._get(repo, campaign_id)
            if campaign.started_at is not None:
                return campaign, None
            if campaign.archived_at is not None:
                raise DomainError(ErrorCode.INVALID, ("id",), "The campaign is archived.")
            if now < campaign.starts_at:
                raise DomainError(
                    ErrorCode.NOT_YET_VALID,
                    ("id",),
                    f"The campaign starts at {campaign.starts_at.isoformat()}.",
                )
            if campaign.ends_at is not None and now >= campaign.ends_at:
                raise DomainError(ErrorCode.EXPIRED, ("id",), "The campaign has ended.")
            if campaign.segment_id is None:  # it measures a journey
                raise DomainError(
                    ErrorCode.INVALID,
                    ("id",),
                    "This campaign measures a journey: its audience grows as the journey "
                    "acts, and it started with the journey.",
                )
            rule = await repo.segment_rule(campaign.segment_id)
            if rule is None:
                raise DomainError(
                    ErrorCode.NOT_FOUND,
                    ("segment_id",),
                    "The campaign's segment was deleted: point it at another one first.",
                )
            campaign = replace(campaign, started_at=now, updated_at=now)
            await repo.save(campaign)
            size = await repo.freeze_audience(campaign, rule, now)
            await uow.commit()
            return campaign, size

    @staticmethod
    async def _check_references(repo: CampaignRepository, campaign: Campaign) -> None:
        errors = ErrorCollector()
        if campaign.segment_id is not None and await repo.segment_rule(campaign.segment_id) is None:
            errors.add(
                ErrorCode.NOT_FOUND, ("segment_id",), "No saved segment has this id (deleted?)."
            )
        wanted = [v.coupon_template_id for v in campaign.variants if v.coupon_template_id]
        missing = await repo.missing_coupon_templates(wanted) if wanted else set()
        for index, variant in enumerate(campaign.variants):
            if variant.coupon_template_id in missing:
                errors.add(
                    ErrorCode.NOT_FOUND,
                    ("variants", str(index), "coupon_template_id"),
                    "No coupon template has this id.",
                )
        errors.raise_if_any()

    @staticmethod
    async def _get(repo: CampaignRepository, campaign_id: int) -> Campaign:
        campaign = await repo.get(campaign_id, for_update=True)
        if campaign is None:
            raise DomainError(ErrorCode.NOT_FOUND, ("id",), "No campaign has this id.")
        return campaign

    # ---- touchpointsRecord ---------------------------------------------------------

    async def record_touchpoints(
        self, commands: Sequence[RecordTouchpoint]
    ) -> list[TouchpointResult | Refusal]:
        """Records each touchpoint or refuses it on its own, in a fixed number of
        statements whatever the batch's size: the campaigns, the customers, the
        frozen arms and the touchpoints already recorded under these keys are read in
        one statement each, then the new ones are inserted in one."""
        bounded_list(commands, ("inputs",))
        if not commands:
            return []
        return await retrying(lambda: self._record_once(commands))

    async def _record_once(
        self, commands: Sequence[RecordTouchpoint]
    ) -> list[TouchpointResult | Refusal]:
        now = self.clock.now()
        results: list[TouchpointResult | Refusal | None] = [None] * len(commands)
        keys: list[str | None] = [None] * len(commands)
        refs: list[int | str | None] = [None] * len(commands)
        for index, command in enumerate(commands):
            try:
                keys[index] = required_text(
                    command.idempotency_key, ("idempotency_key",), max_length=MAX_KEY
                )
                if command.at.tzinfo is None:
                    raise DomainError(ErrorCode.INVALID, ("at",), "at needs a UTC offset.")
                if command.at > now:
                    raise DomainError(ErrorCode.INVALID, ("at",), "at is in the future.")
            except DomainError as exc:
                results[index] = exc
        async with self.uow_factory() as uow:
            repo = uow.repo(CAMPAIGNS)
            # Customers by id, externalId, identity, phone or e-mail (docs/identities.md),
            # a merged one as its survivor (docs/merging.md): a statement or two in all.
            checked = [i for i, r in enumerate(results) if r is None]
            resolved = await ref_keys(
                uow,
                [commands[i].customer for i in checked],
                ("customer",),
                phone_region=self.phone_region,
            )
            for index, key in zip(checked, resolved, strict=True):
                if isinstance(key, DomainError | InvalidInput):
                    results[index] = key
                else:
                    refs[index] = key
            survivors = await survivor_keys(uow.repo(CUSTOMERS), [r for r in refs if r is not None])
            refs = [None if r is None else survivors.get(r, r) for r in refs]
            live = [i for i, r in enumerate(results) if r is None]
            campaigns = await repo.many(sorted({commands[i].campaign_id for i in live}))
            found = await uow.repo(CUSTOMERS).find_many(
                [r for r in refs if isinstance(r, int)], [r for r in refs if isinstance(r, str)]
            )
            by_id = {c.id: c for c in found}
            by_external = {c.external_id: c for c in found}
            existing = await repo.touchpoints_by_keys([k for k in keys if k is not None])
            customer_of: dict[int, int] = {}
            for index in live:
                ref = refs[index]
                if isinstance(ref, int):
                    customer = by_id.get(ref)
                else:
                    customer = by_external.get(present(ref, "customer key"))
                if customer is None or customer.id is None:
                    field_name = "id" if isinstance(ref, int) else "external_id"
                    results[index] = DomainError(
                        ErrorCode.NOT_FOUND,
                        ("customer", field_name),
                        f"No customer has this {'id' if isinstance(ref, int) else 'externalId'}.",
                    )
                    continue
                customer_of[index] = customer.id
            pairs = [(commands[i].campaign_id, c) for i, c in customer_of.items()]
            arms = await repo.arms(pairs)
            new: dict[str, Touchpoint] = {}
            for index in live:
                if results[index] is not None:
                    continue
                command, key = commands[index], present(keys[index], "key")
                customer_id = customer_of[index]
                request_hash = fingerprint(
                    command.campaign_id,
                    customer_id,
                    command.variant,
                    command.event.value,
                    command.at.isoformat(),
                )
                earlier = existing.get(key) or new.get(key)
                if earlier is not None:
                    if earlier.request_hash != request_hash:
                        results[index] = DomainError(
                            ErrorCode.IDEMPOTENCY_CONFLICT,
                            ("idempotency_key",),
                            "This idempotencyKey was already used for another touchpoint.",
                        )
                    else:
                        results[index] = TouchpointResult(earlier, replayed=True)
                    continue
                try:
                    touchpoint = self._touchpoint(
                        command,
                        campaigns.get(command.campaign_id),
                        customer_id,
                        arms.get((command.campaign_id, customer_id)),
                        key,
                        request_hash,
                        now,
                    )
                except DomainError as exc:
                    results[index] = exc
                    continue
                new[key] = touchpoint
                results[index] = TouchpointResult(touchpoint, replayed=False)
            await repo.add_touchpoints(list(new.values()))
            await uow.commit()
        done: list[TouchpointResult | Refusal] = []
        for result in results:
            if result is None:
                raise AssertionError("every input has its result")
            done.append(result)
        return done

    @staticmethod
    def _touchpoint(
        command: RecordTouchpoint,
        campaign: Campaign | None,
        customer_id: int,
        arm: str | None,
        key: str,
        request_hash: str,
        now: datetime,
    ) -> Touchpoint:
        if campaign is None:
            raise DomainError(ErrorCode.NOT_FOUND, ("campaign_id",), "No campaign has this id.")
        variant = command.variant.strip() if isinstance(command.variant, str) else ""
        if campaign.variant(variant) is None:
            names = ", ".join(v.name for v in campaign.variants)
            raise DomainError(
                ErrorCode.NOT_FOUND,
                ("variant",),
                f"The campaign has no variant {variant!r}; its variants are {names}.",
            )
        if campaign.started_at is None:
            raise DomainError(
                ErrorCode.NOT_YET_VALID, ("campaign_id",), "The campaign has not started."
            )
        if command.at < campaign.started_at:
            raise DomainError(
                ErrorCode.NOT_YET_VALID,
                ("at",),
                f"at is before the campaign started ({campaign.started_at.isoformat()}).",
            )
        ended = campaign.ends_at is not None and command.at >= campaign.ends_at
        if ended and command.event is TouchpointEvent.SENT:
            # What follows a send (delivered, opened…) may come after the end; a send may not.
            raise DomainError(
                ErrorCode.EXPIRED,
                ("at",),
                f"The campaign ended at {present(campaign.ends_at, 'end').isoformat()}: "
                "nothing is sent after it.",
            )
        flag = None
        if arm is None:
            flag = TouchpointFlag.OUTSIDE_AUDIENCE
        elif arm == HOLDOUT:
            flag = TouchpointFlag.HOLDOUT
        elif arm != variant:
            flag = TouchpointFlag.OTHER_VARIANT
        window = None
        if command.event is TouchpointEvent.SENT:
            window = command.at + timedelta(days=campaign.attribution_days)
        return Touchpoint(
            id=None,
            campaign_id=present(campaign.id, "campaign id"),
            customer_id=customer_id,
            variant=variant,
            event=command.event,
            at=command.at,
            idempotency_key=key,
            request_hash=request_hash,
            recorded_at=now,
            flag=flag,
            window_ends_at=window,
        )


# ---- funnel and A/B statistics ------------------------------------------------------

# A/B verdict thresholds (docs/campaigns.md).
ALPHA = 0.05
POWER = 0.80
MIN_REACHED = 100  # each arm needs this many reached customers before any verdict
# NO_DIFFERENCE needs arms large enough to detect this relative lift over the baseline.
MIN_RELATIVE_LIFT = 0.2


class Verdict(StrEnum):
    NOT_ENOUGH_DATA = "NOT_ENOUGH_DATA"
    NO_DIFFERENCE = "NO_DIFFERENCE"
    VARIANT_WINS = "VARIANT_WINS"


@dataclass(frozen=True)
class ArmCounts:
    """One arm's figures as the database counts them."""

    arm: str
    audience: int
    steps: dict[TouchpointEvent, int]  # customers with each funnel step's event
    converted: int  # customers who converted on their window
    attributed_orders: int
    attributed_revenue: Decimal


def _refuse_journeys(campaign: Campaign) -> None:
    if campaign.measures_journey:
        raise DomainError(
            ErrorCode.READ_ONLY,
            ("id",),
            "This campaign measures a journey and follows it: rename, pause or archive "
            "the journey instead (journeyUpdate, journeyPause, journeyArchive).",
        )


def rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def reached(counts: ArmCounts) -> int:
    """Who could convert: sent customers of a variant, every holdout customer."""
    return counts.audience if counts.arm == HOLDOUT else counts.steps[TouchpointEvent.SENT]


@dataclass(frozen=True)
class Comparison:
    """A variant against the first one."""

    variant: str
    baseline: str
    lift: float | None  # conversion rate difference, variant − baseline
    relative_lift: float | None  # lift / baseline rate
    lift_low: float | None  # 95 % interval of the lift (unpooled standard error)
    lift_high: float | None
    z: float | None
    p_value: float | None  # two-sided, two-proportion z-test with pooled variance
    sample_size_needed: int | None  # per arm, for the observed lift at 80 % power
    more_needed: int | None  # what each arm still lacks of it
    verdict: Verdict
    winner: str | None = None


def sample_size(p1: float, p2: float) -> int | None:
    """Customers per arm for a two-sided test at ALPHA to detect p1 against p2 with
    POWER (normal approximation, unpooled under the alternative); None when p1 = p2."""
    from scipy.stats import norm

    if p1 == p2:
        return None
    mean = (p1 + p2) / 2
    root = float(norm.ppf(1 - ALPHA / 2)) * math.sqrt(2 * mean * (1 - mean)) + float(
        norm.ppf(POWER)
    ) * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return math.ceil(root**2 / (p2 - p1) ** 2)


def compare(baseline: tuple[str, int, int], variant: tuple[str, int, int]) -> Comparison:
    """(arm, converted, reached) of the first variant and of another one."""
    from scipy.stats import norm

    (base_name, x1, n1), (name, x2, n2) = baseline, variant
    if n1 == 0 or n2 == 0:
        return Comparison(
            name,
            base_name,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            Verdict.NOT_ENOUGH_DATA,
        )
    p1, p2 = x1 / n1, x2 / n2
    lift = p2 - p1
    relative = lift / p1 if p1 else None
    critical = float(norm.ppf(1 - ALPHA / 2))
    spread = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    low, high = lift - critical * spread, lift + critical * spread
    pooled = (x1 + x2) / (n1 + n2)
    error = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = p_value = None
    if error > 0:
        z = lift / error
        p_value = float(2 * norm.sf(abs(z)))
    needed = sample_size(p1, p2)
    more = None if needed is None else max(0, needed - min(n1, n2))
    verdict, winner = Verdict.NOT_ENOUGH_DATA, None
    if min(n1, n2) >= MIN_REACHED and p_value is not None:
        if p_value < ALPHA:
            verdict, winner = Verdict.VARIANT_WINS, (name if lift > 0 else base_name)
        else:
            # No difference only once a lift worth having would have been seen.
            guard = sample_size(p1, min(1.0, p1 * (1 + MIN_RELATIVE_LIFT))) if p1 else None
            if guard is not None and min(n1, n2) >= guard:
                verdict = Verdict.NO_DIFFERENCE
    return Comparison(
        name, base_name, lift, relative, low, high, z, p_value, needed, more, verdict, winner
    )


@dataclass
class FunnelArm:
    counts: ArmCounts
    conversion_rate: float | None
    step_conversion: dict[str, float | None] = field(default_factory=dict)
    incremental_lift: float | None = None


STEP_NAMES = ("SENT", "DELIVERED", "OPENED", "CLICKED", "ADDED_TO_CART", "ORDERED")


def funnel(arms: Sequence[ArmCounts]) -> list[FunnelArm]:
    """Each arm's step conversion (a step's customers / the previous step's; SENT's
    is over the audience), conversion rate (converted / reached) and incremental lift
    (its rate − the holdout's; null without a holdout or for the holdout itself)."""
    holdout = next((a for a in arms if a.arm == HOLDOUT), None)
    holdout_rate = rate(holdout.converted, holdout.audience) if holdout else None
    found = []
    for counts in arms:
        values = [counts.audience, *(counts.steps[s] for s in FUNNEL_STEPS), counts.converted]
        steps = {name: rate(values[i + 1], values[i]) for i, name in enumerate(STEP_NAMES)}
        conversion = rate(counts.converted, reached(counts))
        lift = None
        if counts.arm != HOLDOUT and holdout_rate is not None and conversion is not None:
            lift = conversion - holdout_rate
        found.append(FunnelArm(counts, conversion, steps, lift))
    return found


def ab_test(campaign: Campaign, arms: Sequence[ArmCounts]) -> list[Comparison]:
    """Every variant after the first against the first."""
    by_arm = {a.arm: a for a in arms}
    names = [v.name for v in campaign.variants]

    def triple(name: str) -> tuple[str, int, int]:
        counts = by_arm.get(name)
        if counts is None:
            return name, 0, 0
        return name, counts.converted, reached(counts)

    return [compare(triple(names[0]), triple(name)) for name in names[1:]]
