"""Coupons: templates a marketer defines, coupons issued from them, use at checkout.

The rules are in docs/coupons.md; in short:

- A template fixes the discount (kind and terms, unchangeable once created), who may
  hold and use it (anyone, a lowest tier, a saved segment), the validity of the
  coupons it issues (a fixed window, or N days from issue ending at a local
  midnight), issue limits (per customer, in total) and whether it stacks.
- Every issue path (one customer, a bulk list or segment, a reward bought with
  points) locks the template row first, so the total limit and the per-customer
  limit are read and written by one issuer at a time: never exceeded, also under
  concurrent issues.
- A coupon is ISSUED, then USED once (a conditional UPDATE on `status = 'ISSUED'`,
  so of concurrent uses exactly one wins) or EXPIRED (the daily pass). A full refund
  of the order it was used on gives it back when the program says so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any, Protocol

from domain.clock import Clock
from domain.customers import CUSTOMERS, UNSET, check_not_merged, survivor_id
from domain.errors import DomainError, ErrorCode, ErrorCollector, present
from domain.event_payloads import CouponExpiringSoonV1, CouponRestoredV1, CouponUsedV1
from domain.events import EVENTS, Event
from domain.fields import optional_text, refuse_control_characters, required_text
from domain.idempotency import IDEMPOTENCY, fingerprint, remembered_result, retrying
from domain.money import MONEY_PLACES, parse_decimal, parse_money
from domain.program import PROGRAM, ProgramSettings
from domain.redemptions import new_code, normalize_code
from domain.segments import BUILT_IN_BY_ID, SEGMENTS
from domain.tiers.ports import TIERS
from domain.unit_of_work import Port, UnitOfWork, UnitOfWorkFactory

MAX_NAME = 200
MAX_DESCRIPTION = 2000
MAX_SKU = 128
MAX_LIMIT = 100_000_000
MAX_VALID_DAYS = 3650
MAX_KEY = 100
MAX_ORDER_ID = 128
MAX_BULK_CUSTOMERS = 1000
BATCH = 500
CENT = Decimal(1).scaleb(-MONEY_PLACES)


class CouponKind(StrEnum):
    AMOUNT_OFF = "AMOUNT_OFF"  # 满减: an amount off a cart of at least the minimum spend
    PERCENT_OFF = "PERCENT_OFF"  # 9折 is 10 percent off; optionally capped
    FREE_PRODUCT = "FREE_PRODUCT"  # one unit of a SKU
    FREE_SHIPPING = "FREE_SHIPPING"


class CouponAudience(StrEnum):
    ANY = "ANY"
    TIER = "TIER"  # the tier named or a higher one (by rank)
    SEGMENT = "SEGMENT"  # members of a saved segment, as of the moment asked


class CouponStatus(StrEnum):
    ISSUED = "ISSUED"
    USED = "USED"
    EXPIRED = "EXPIRED"
    REVOKED = "REVOKED"  # the redemption that bought it was cancelled


class CouponRefusal(StrEnum):
    """Why a coupon does not apply, in the order a shopper should hear them."""

    NOT_FOUND = "NOT_FOUND"
    ALREADY_USED = "ALREADY_USED"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"
    NOT_YET_VALID = "NOT_YET_VALID"
    NOT_ELIGIBLE = "NOT_ELIGIBLE"
    MIN_SPEND_NOT_MET = "MIN_SPEND_NOT_MET"
    NOT_STACKABLE = "NOT_STACKABLE"


@dataclass
class CouponTemplate:
    id: int | None
    name: str
    kind: CouponKind
    description: str | None = None
    amount_off: Decimal | None = None
    percent_off: Decimal | None = None
    max_discount: Decimal | None = None
    min_spend: Decimal = Decimal("0.00")
    product_sku: str | None = None
    audience: CouponAudience = CouponAudience.ANY
    audience_tier_id: int | None = None
    audience_segment_id: int | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    valid_days: int | None = None
    per_customer_limit: int | None = 1
    total_limit: int | None = None
    issued_count: int = 0
    stackable: bool = False
    archived_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def window_at_issue(self, issued_at: datetime, zone: Any) -> tuple[datetime, datetime]:
        """The validity of a coupon issued at `issued_at`: the template's fixed window
        (from issue when it has no start), or `valid_days` from issue, ending at the
        first local midnight at or after issue + N days (so a shopper always gets at
        least N whole days, and the coupon ends at a clean day boundary)."""
        if self.valid_days is None:
            return self.valid_from or issued_at, present(self.valid_until, "valid until")
        end = (issued_at + timedelta(days=self.valid_days)).astimezone(zone)
        midnight = datetime.combine(end.date(), time(0), tzinfo=zone)
        if midnight < end:
            midnight = datetime.combine(end.date() + timedelta(days=1), time(0), tzinfo=zone)
        return issued_at, midnight.astimezone(issued_at.tzinfo)


@dataclass
class Coupon:
    id: int | None
    customer_id: int
    template_id: int
    code: str
    status: CouponStatus
    valid_from: datetime
    valid_until: datetime
    issued_at: datetime
    used_at: datetime | None = None
    order_external_id: str | None = None
    redemption_id: int | None = None

    def status_at(self, now: datetime) -> CouponStatus:
        """What the shopper should see: an issued coupon past its end is expired even
        before the daily pass writes it down."""
        if self.status is CouponStatus.ISSUED and now >= self.valid_until:
            return CouponStatus.EXPIRED
        return self.status


@dataclass(frozen=True)
class TemplateFields:
    """Template fields as sent. UNSET leaves a field alone (updates); None clears it."""

    name: Any = UNSET
    description: Any = UNSET
    kind: Any = UNSET
    amount_off: Any = UNSET
    percent_off: Any = UNSET
    max_discount: Any = UNSET
    min_spend: Any = UNSET
    product_sku: Any = UNSET
    audience: Any = UNSET
    audience_tier_id: Any = UNSET
    audience_segment_id: Any = UNSET
    valid_from: Any = UNSET
    valid_until: Any = UNSET
    valid_days: Any = UNSET
    per_customer_limit: Any = UNSET
    total_limit: Any = UNSET
    stackable: Any = UNSET


# The discount terms: fixed at creation, so every coupon of a template means the same.
TERMS = ("kind", "amount_off", "percent_off", "max_discount", "min_spend", "product_sku")


@dataclass(frozen=True)
class CartLine:
    sku: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class Cart:
    amount: Decimal
    items: tuple[CartLine, ...] = ()
    channel: str | None = None


@dataclass(frozen=True)
class Discount:
    """What a coupon takes off a cart: an amount (never above the cart's), and for
    the kinds that are not an amount, what the storefront should grant."""

    amount: Decimal
    free_shipping: bool = False
    free_product_sku: str | None = None


@dataclass(frozen=True)
class Validation:
    coupon: Coupon | None
    discount: Discount | None = None
    refusal: CouponRefusal | None = None
    message: str | None = None

    @property
    def applies(self) -> bool:
        return self.refusal is None


# ---- the rules (no database) -----------------------------------------------------


def _whole(value: Any, path: tuple[str, ...], low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise DomainError(
            ErrorCode.INVALID, path, f"{path[-1]} must be a whole number from {low} to {high}."
        )
    return value


def apply_fields(
    template: CouponTemplate, fields: TemplateFields, errors: ErrorCollector
) -> CouponTemplate:
    """The template with `fields` applied and checked; problems go to `errors`."""
    changes: dict[str, Any] = {}

    def check(name: str, fn: Callable[[Any], object]) -> None:
        value = getattr(fields, name)
        if value is UNSET:
            return
        try:
            changes[name] = fn(value)
        except DomainError as exc:
            errors.capture(exc)

    def money(name: str, *, positive: bool = True) -> None:
        check(name, lambda v: None if v is None else parse_money(v, (name,), positive=positive))

    check("name", lambda v: required_text(v, ("name",), max_length=MAX_NAME))
    check(
        "description",
        lambda v: optional_text(v, ("description",), max_length=MAX_DESCRIPTION, multiline=True),
    )
    check("kind", lambda v: CouponKind(v))
    money("amount_off")
    check(
        "percent_off",
        lambda v: (
            None
            if v is None
            else parse_decimal(
                v,
                ("percent_off",),
                places=2,
                low=Decimal(0),
                high=Decimal(100),
                low_inclusive=False,
            )
        ),
    )
    money("max_discount")
    check(
        "min_spend",
        lambda v: Decimal("0.00") if v is None else parse_money(v, ("min_spend",)),
    )
    check(
        "product_sku",
        lambda v: None if v is None else required_text(v, ("product_sku",), max_length=MAX_SKU),
    )
    check("audience", lambda v: CouponAudience(v))
    check("audience_tier_id", lambda v: v)
    check("audience_segment_id", lambda v: v)
    check("valid_from", lambda v: v)
    check("valid_until", lambda v: v)
    check(
        "valid_days",
        lambda v: None if v is None else _whole(v, ("valid_days",), 1, MAX_VALID_DAYS),
    )
    check(
        "per_customer_limit",
        lambda v: None if v is None else _whole(v, ("per_customer_limit",), 1, MAX_LIMIT),
    )
    check(
        "total_limit",
        lambda v: None if v is None else _whole(v, ("total_limit",), 0, MAX_LIMIT),
    )
    check("stackable", lambda v: bool(v))
    # Moving to another audience drops the old one's tier or segment unless one is sent.
    audience = changes.get("audience")
    if audience is not None and audience is not CouponAudience.TIER:
        changes.setdefault("audience_tier_id", None)
    if audience is not None and audience is not CouponAudience.SEGMENT:
        changes.setdefault("audience_segment_id", None)
    result = replace(template, **changes)
    _check_terms(result, errors)
    _check_audience(result, errors)
    _check_validity(result, errors)
    if result.total_limit is not None and result.total_limit < result.issued_count:
        errors.add(
            ErrorCode.INVALID,
            ("total_limit",),
            f"{result.issued_count} coupons were already issued; totalLimit cannot be lower.",
        )
    return result


def _check_terms(t: CouponTemplate, errors: ErrorCollector) -> None:
    """Each kind has its own terms and no others, so a template reads one way."""
    needs = {
        CouponKind.AMOUNT_OFF: {"amount_off"},
        CouponKind.PERCENT_OFF: {"percent_off"},
        CouponKind.FREE_PRODUCT: {"product_sku"},
        CouponKind.FREE_SHIPPING: set(),
    }[t.kind]
    allowed = needs | ({"max_discount"} if t.kind is CouponKind.PERCENT_OFF else set())
    refused = {e.field for e in errors.errors}
    for name in ("amount_off", "percent_off", "max_discount", "product_sku"):
        value = getattr(t, name)
        if (name,) in refused:
            continue
        if name in needs and value is None:
            errors.add(ErrorCode.REQUIRED, (name,), f"A {t.kind} coupon needs {name}.")
        elif name not in allowed and value is not None:
            errors.add(ErrorCode.INVALID, (name,), f"A {t.kind} coupon has no {name}.")


def _check_audience(t: CouponTemplate, errors: ErrorCollector) -> None:
    tier, segment = t.audience_tier_id is not None, t.audience_segment_id is not None
    if t.audience is CouponAudience.TIER and not tier:
        errors.add(ErrorCode.REQUIRED, ("audience_tier_id",), "A TIER audience needs a tier.")
    if t.audience is CouponAudience.SEGMENT and not segment:
        errors.add(
            ErrorCode.REQUIRED, ("audience_segment_id",), "A SEGMENT audience needs a segment."
        )
    if t.audience is not CouponAudience.TIER and tier:
        errors.add(ErrorCode.INVALID, ("audience_tier_id",), "Only a TIER audience has a tier.")
    if t.audience is not CouponAudience.SEGMENT and segment:
        errors.add(
            ErrorCode.INVALID, ("audience_segment_id",), "Only a SEGMENT audience has a segment."
        )


def _check_validity(t: CouponTemplate, errors: ErrorCollector) -> None:
    """Exactly one of a fixed end (`valid_until`, with an optional start) or a number
    of days from issue (`valid_days`)."""
    if t.valid_days is not None:
        if t.valid_from is not None or t.valid_until is not None:
            errors.add(
                ErrorCode.INVALID,
                ("valid_days",),
                "validDays counts from issue: leave validFrom and validUntil empty.",
            )
        return
    if t.valid_until is None:
        errors.add(
            ErrorCode.REQUIRED,
            ("valid_until",),
            "A template needs validUntil (a fixed window) or validDays (from issue).",
        )
    elif t.valid_from is not None and t.valid_until <= t.valid_from:
        errors.add(ErrorCode.INVALID, ("valid_until",), "validUntil is not after validFrom.")


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def discount_for(template: CouponTemplate, cart: Cart) -> Discount:
    """The discount on a cart that meets the template's minimum spend.

    Percent off is rounded half up to the cent, then capped by `max_discount`; a free
    product takes one unit's price off when the SKU is in the cart (otherwise the
    storefront adds it as a gift: 0 off, the SKU named); free shipping takes nothing
    off the goods. No discount is ever above the cart amount."""
    amount = Decimal(0)
    if template.kind is CouponKind.AMOUNT_OFF:
        amount = present(template.amount_off, "amount off")
    elif template.kind is CouponKind.PERCENT_OFF:
        amount = _cents(cart.amount * present(template.percent_off, "percent off") / 100)
        if template.max_discount is not None:
            amount = min(amount, template.max_discount)
    elif template.kind is CouponKind.FREE_PRODUCT:
        prices = [line.unit_price for line in cart.items if line.sku == template.product_sku]
        amount = max(prices, default=Decimal(0))
    amount = _cents(min(amount, cart.amount))
    return Discount(
        amount=amount,
        free_shipping=template.kind is CouponKind.FREE_SHIPPING,
        free_product_sku=template.product_sku if template.kind is CouponKind.FREE_PRODUCT else None,
    )


def time_refusal(coupon: Coupon, now: datetime) -> tuple[CouponRefusal, str] | None:
    """Status and window: valid from `valid_from` (included) to `valid_until`
    (excluded)."""
    if coupon.status is CouponStatus.USED:
        return CouponRefusal.ALREADY_USED, "This coupon was already used."
    if coupon.status is CouponStatus.REVOKED:
        return CouponRefusal.REVOKED, "This coupon was withdrawn (its redemption was cancelled)."
    if coupon.status is CouponStatus.EXPIRED or now >= coupon.valid_until:
        return CouponRefusal.EXPIRED, "This coupon has expired."
    if now < coupon.valid_from:
        return CouponRefusal.NOT_YET_VALID, "This coupon is not valid yet."
    return None


def spend_refusal(template: CouponTemplate, cart: Cart) -> tuple[CouponRefusal, str] | None:
    """满减: the cart must reach the minimum spend; exactly the minimum is enough."""
    if cart.amount < template.min_spend:
        return (
            CouponRefusal.MIN_SPEND_NOT_MET,
            f"This coupon needs a cart of at least {template.min_spend}.",
        )
    return None


REFUSAL_CODES = {
    CouponRefusal.NOT_FOUND: ErrorCode.NOT_FOUND,
    CouponRefusal.ALREADY_USED: ErrorCode.ALREADY_USED,
    CouponRefusal.REVOKED: ErrorCode.ALREADY_CANCELLED,
    CouponRefusal.EXPIRED: ErrorCode.EXPIRED,
    CouponRefusal.NOT_YET_VALID: ErrorCode.NOT_YET_VALID,
    CouponRefusal.NOT_ELIGIBLE: ErrorCode.NOT_ELIGIBLE,
    CouponRefusal.MIN_SPEND_NOT_MET: ErrorCode.MIN_SPEND_NOT_MET,
    CouponRefusal.NOT_STACKABLE: ErrorCode.NOT_STACKABLE,
}


# ---- the ports ---------------------------------------------------------------------


@dataclass(frozen=True)
class BulkTarget:
    """Whom a bulk issue is for: a list of customers, or a segment's members as of the
    issue (a saved segment's rule, or a built-in's)."""

    customer_ids: tuple[int, ...] = ()
    segment_rule: str | None = None


@dataclass(frozen=True)
class BulkOutcome:
    requested: int  # live customers targeted
    issued: int
    limit_reached: bool  # the total limit stopped the issue short


@dataclass(frozen=True)
class ExpiryNotice:
    coupon_id: int
    customer_id: int
    template_id: int
    valid_until: datetime


class CouponRepository(Protocol):
    async def get_template(
        self, template_id: int, *, for_update: bool = False
    ) -> CouponTemplate | None: ...
    async def add_template(self, template: CouponTemplate) -> CouponTemplate: ...
    async def save_template(self, template: CouponTemplate) -> None: ...
    async def eligible(self, template: CouponTemplate, customer_id: int, as_of: datetime) -> bool:
        """Whether the customer is in the template's audience as of the instant."""
        ...

    async def count_held(self, template_id: int, customer_id: int) -> int: ...
    async def add(self, coupon: Coupon) -> Coupon: ...
    async def count_issued_one(self, template_id: int) -> None:
        """issued_count + 1 (the caller holds the template row)."""
        ...

    async def issue_bulk(
        self,
        template: CouponTemplate,
        target: BulkTarget,
        now: datetime,
        program: ProgramSettings,
        window: tuple[datetime, datetime],
        make_codes: Callable[[int], list[str]],
    ) -> BulkOutcome:
        """One INSERT … SELECT of a coupon for every live, eligible target without
        one of this template, up to the total limit, and issued_count raised by as many."""
        ...

    async def get(self, coupon_id: int) -> Coupon | None: ...
    async def by_code(self, code: str) -> Coupon | None: ...
    async def by_codes(self, codes: Sequence[str]) -> list[Coupon]: ...
    async def on_order(self, order_external_id: str) -> list[Coupon]: ...
    async def mark_used(self, coupon_id: int, order_external_id: str, at: datetime) -> bool:
        """ISSUED → USED, only if still ISSUED; False when it no longer was."""
        ...

    async def revoke_for_redemption(self, redemption_id: int) -> CouponStatus | None:
        """ISSUED → REVOKED for the coupon a redemption bought; the status it had (None
        when the redemption bought no coupon)."""
        ...

    async def restore_for_order(self, customer_id: int, order_external_id: str) -> int:
        """USED → ISSUED for the customer's coupons used on the order; how many."""
        ...

    async def expire_due(self, as_of: datetime) -> int:
        """ISSUED coupons whose end is at or before `as_of` → EXPIRED; how many."""
        ...

    async def expiry_notices_due(
        self, as_of: datetime, horizon: datetime, limit: int
    ) -> list[ExpiryNotice]:
        """ISSUED coupons ending in (as_of, horizon] not announced before, marked as
        announced now."""
        ...


COUPONS: Port[CouponRepository] = Port("coupons")


# ---- commands -------------------------------------------------------------------


@dataclass(frozen=True)
class IssueCoupon:
    template_id: int
    customer_id: int
    idempotency_key: str


@dataclass(frozen=True)
class IssueBulk:
    template_id: int
    target: BulkTarget = field(default_factory=BulkTarget)
    segment_id: int | None = None  # a saved segment
    built_in_segment_id: int | None = None


@dataclass(frozen=True)
class IssueResult:
    coupon: Coupon
    replayed: bool


@dataclass(frozen=True)
class UseResult:
    coupon: Coupon
    replayed: bool  # the same code was already used on this same order


# ---- issuing (shared by couponIssue and rewardRedeem) ---------------------------------


async def issue_in(
    uow: UnitOfWork,
    template_id: int,
    customer_id: int,
    now: datetime,
    *,
    redemption_id: int | None = None,
    field_path: tuple[str, ...] = ("template_id",),
) -> Coupon:
    """Issues one coupon inside the caller's transaction (the caller commits), with
    the template row locked: the limits read here cannot change before commit."""
    coupons = uow.repo(COUPONS)
    template = await coupons.get_template(template_id, for_update=True)
    if template is None:
        raise DomainError(ErrorCode.NOT_FOUND, field_path, "No coupon template has this id.")
    if template.archived_at is not None:
        raise DomainError(
            ErrorCode.TEMPLATE_ARCHIVED, field_path, "This coupon template is archived."
        )
    program = await uow.repo(PROGRAM).get()
    valid_from, valid_until = template.window_at_issue(now, program.zone)
    if valid_until <= now:
        raise DomainError(ErrorCode.EXPIRED, field_path, "This template's window has ended.")
    if not await coupons.eligible(template, customer_id, now):
        raise DomainError(
            ErrorCode.NOT_ELIGIBLE,
            ("customer_id",),
            "The customer is not in this coupon's audience.",
        )
    if template.per_customer_limit is not None:
        held = await coupons.count_held(present(template.id, "template id"), customer_id)
        if held >= template.per_customer_limit:
            raise DomainError(
                ErrorCode.LIMIT_REACHED,
                ("customer_id",),
                f"The customer already has {held} of this coupon "
                f"(limit {template.per_customer_limit}).",
            )
    if template.total_limit is not None and template.issued_count >= template.total_limit:
        raise DomainError(
            ErrorCode.OUT_OF_STOCK, field_path, "Every coupon of this template was issued."
        )
    await coupons.count_issued_one(present(template.id, "template id"))
    return await coupons.add(
        Coupon(
            id=None,
            customer_id=customer_id,
            template_id=present(template.id, "template id"),
            code=new_code(),
            status=CouponStatus.ISSUED,
            valid_from=valid_from,
            valid_until=valid_until,
            issued_at=now,
            redemption_id=redemption_id,
        )
    )


async def revoke_with_redemption(uow: UnitOfWork, redemption_id: int) -> None:
    """Called by the cancellation of a redemption: the coupon it bought is withdrawn
    (the points come back, so the coupon cannot stay), unless it was already used, in
    which case the cancellation is refused."""
    before = await uow.repo(COUPONS).revoke_for_redemption(redemption_id)
    if before is CouponStatus.USED:
        raise DomainError(
            ErrorCode.ALREADY_USED, ("id",), "The coupon bought with this redemption was used."
        )


async def restore_on_full_refund(
    uow: UnitOfWork, customer_id: int, order_external_id: str, now: datetime
) -> None:
    """Called by the refund that makes an order fully refunded: the coupons used on it
    are ISSUED again when the program setting `coupon_restore_on_refund` is on."""
    program = await uow.repo(PROGRAM).get()
    if not program.coupon_restore_on_refund:
        return
    restored = await uow.repo(COUPONS).restore_for_order(customer_id, order_external_id)
    if restored:
        await uow.repo(EVENTS).append(
            Event.of(CouponRestoredV1(customer_id, order_external_id, restored), now)
        )


# ---- services ---------------------------------------------------------------------


class CouponTemplateService:
    """Template upkeep by an admin. Archiving stops issuing; issued coupons stay usable."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self.uow_factory = uow_factory
        self.clock = clock

    async def create(self, fields: TemplateFields) -> CouponTemplate:
        now = self.clock.now()
        errors = ErrorCollector()
        for name in ("name", "kind"):
            if getattr(fields, name) in (UNSET, None):
                errors.add(ErrorCode.REQUIRED, (name,), f"{name} is required.")
        errors.raise_if_any()
        draft = CouponTemplate(id=None, name="", kind=CouponKind.FREE_SHIPPING)
        template = apply_fields(draft, fields, errors)
        errors.raise_if_any()
        async with self.uow_factory() as uow:
            await self._check_references(uow, template)
            template.created_at = template.updated_at = now
            template = await uow.repo(COUPONS).add_template(template)
            await uow.commit()
        return template

    async def update(self, template_id: int, fields: TemplateFields) -> CouponTemplate:
        for name in TERMS:
            if getattr(fields, name) is not UNSET:
                raise DomainError(
                    ErrorCode.READ_ONLY,
                    (name,),
                    "The discount terms are fixed once a template exists; create a new one.",
                )
        async with self.uow_factory() as uow:
            current = await uow.repo(COUPONS).get_template(template_id, for_update=True)
            if current is None:
                raise DomainError(ErrorCode.NOT_FOUND, ("id",), "No coupon template has this id.")
            if fields.name is None:
                raise DomainError(ErrorCode.REQUIRED, ("name",), "name cannot be null.")
            errors = ErrorCollector()
            template = apply_fields(current, fields, errors)
            errors.raise_if_any()
            await self._check_references(uow, template)
            template.updated_at = self.clock.now()
            await uow.repo(COUPONS).save_template(template)
            await uow.commit()
        return template

    async def archive(self, template_id: int) -> CouponTemplate:
        async with self.uow_factory() as uow:
            template = await uow.repo(COUPONS).get_template(template_id, for_update=True)
            if template is None:
                raise DomainError(ErrorCode.NOT_FOUND, ("id",), "No coupon template has this id.")
            if template.archived_at is None:
                template.archived_at = template.updated_at = self.clock.now()
                await uow.repo(COUPONS).save_template(template)
            await uow.commit()
        return template

    async def _check_references(self, uow: UnitOfWork, template: CouponTemplate) -> None:
        tier_id, segment_id = template.audience_tier_id, template.audience_segment_id
        if tier_id is not None and await uow.repo(TIERS).get(tier_id) is None:
            raise DomainError(ErrorCode.NOT_FOUND, ("audience_tier_id",), "No tier has this id.")
        if segment_id is not None and await uow.repo(SEGMENTS).get(segment_id) is None:
            raise DomainError(
                ErrorCode.NOT_FOUND, ("audience_segment_id",), "No saved segment has this id."
            )


class CouponService:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self.uow_factory = uow_factory
        self.clock = clock

    # ---- issue ------------------------------------------------------------------------

    async def issue(self, command: IssueCoupon) -> IssueResult:
        key = required_text(command.idempotency_key, ("idempotency_key",), max_length=MAX_KEY)
        request_hash = fingerprint(command.template_id, command.customer_id)
        return await retrying(lambda: self._issue_once(command, key, request_hash))

    async def _issue_once(self, command: IssueCoupon, key: str, request_hash: str) -> IssueResult:
        now = self.clock.now()
        # Scoped by the id the caller sent: a retry naming a customer merged since
        # still finds its first coupon.
        scoped = f"{command.customer_id}:{key}"
        async with self.uow_factory() as uow:
            # A merged customer's id issues to its survivor (docs/merging.md); the hold
            # keeps a merge from moving the coupons away before this one is written,
            # without blocking a bulk issue's inserts (which hold the template's lock).
            command = replace(command, customer_id=await survivor_id(uow, command.customer_id))
            customer = await uow.repo(CUSTOMERS).hold(command.customer_id)
            check_not_merged([customer])
            if customer is None or customer.erased_at is not None:
                raise DomainError(ErrorCode.NOT_FOUND, ("customer_id",), "No customer has this id.")
            remembered = await remembered_result(
                uow.repo(IDEMPOTENCY), "couponIssue", scoped, request_hash
            )
            if remembered is not None:
                again = await uow.repo(COUPONS).get(remembered["couponId"])
                return IssueResult(present(again, "coupon"), replayed=True)
            coupon = await issue_in(uow, command.template_id, command.customer_id, now)
            await uow.repo(IDEMPOTENCY).remember(
                "couponIssue", scoped, request_hash, {"couponId": coupon.id}, now
            )
            await uow.commit()
        return IssueResult(coupon, replayed=False)

    async def issue_bulk(self, command: IssueBulk) -> BulkOutcome:
        target = command.target
        if len(target.customer_ids) > MAX_BULK_CUSTOMERS:
            raise DomainError(
                ErrorCode.TOO_MANY,
                ("customer_ids",),
                f"At most {MAX_BULK_CUSTOMERS} customers per call; use a segment for more.",
            )
        chosen = [
            bool(target.customer_ids),
            command.segment_id is not None,
            command.built_in_segment_id is not None,
        ]
        if sum(chosen) != 1:
            raise DomainError(
                ErrorCode.INVALID, (), "Give either customerIds or a segment, not both or neither."
            )
        now = self.clock.now()
        async with self.uow_factory() as uow:
            if command.built_in_segment_id is not None:
                built_in = BUILT_IN_BY_ID.get(command.built_in_segment_id)
                if built_in is None:
                    raise DomainError(
                        ErrorCode.NOT_FOUND, ("segment_id",), "No segment has this id."
                    )
                target = BulkTarget(segment_rule=built_in.rule)
            elif command.segment_id is not None:
                saved = await uow.repo(SEGMENTS).get(command.segment_id)
                if saved is None:
                    raise DomainError(
                        ErrorCode.NOT_FOUND, ("segment_id",), "No segment has this id."
                    )
                target = BulkTarget(segment_rule=saved.rule)
            coupons = uow.repo(COUPONS)
            template = await coupons.get_template(command.template_id, for_update=True)
            if template is None:
                raise DomainError(
                    ErrorCode.NOT_FOUND, ("template_id",), "No coupon template has this id."
                )
            if template.archived_at is not None:
                raise DomainError(
                    ErrorCode.TEMPLATE_ARCHIVED,
                    ("template_id",),
                    "This coupon template is archived.",
                )
            program = await uow.repo(PROGRAM).get()
            window = template.window_at_issue(now, program.zone)
            if window[1] <= now:
                raise DomainError(
                    ErrorCode.EXPIRED, ("template_id",), "This template's window has ended."
                )
            outcome = await coupons.issue_bulk(
                template, target, now, program, window, lambda n: [new_code() for _ in range(n)]
            )
            await uow.commit()
        return outcome

    # ---- checkout ---------------------------------------------------------------------

    async def validate(
        self,
        code_text: str,
        cart: Cart,
        customer_id: int | None = None,
        other_codes: Sequence[str] = (),
    ) -> Validation:
        """Whether the coupon applies to the cart, and its discount; writes nothing."""
        now = self.clock.now()
        refuse_control_characters(code_text or "", ("code",))
        code = normalize_code(code_text or "")
        async with self.uow_factory() as uow:
            coupons = uow.repo(COUPONS)
            coupon = await coupons.by_code(code) if code else None
            if coupon is None:
                return Validation(None, None, CouponRefusal.NOT_FOUND, "No coupon has this code.")
            template = present(await coupons.get_template(coupon.template_id), "template")
            refusal = time_refusal(coupon, now)
            if refusal is None and customer_id is not None and customer_id != coupon.customer_id:
                refusal = CouponRefusal.NOT_ELIGIBLE, "This coupon belongs to another customer."
            if refusal is None and not await coupons.eligible(template, coupon.customer_id, now):
                refusal = CouponRefusal.NOT_ELIGIBLE, "The holder is not in this coupon's audience."
            if refusal is None:
                refusal = spend_refusal(template, cart)
            if refusal is None and other_codes:
                refusal = await self._stack_refusal(uow, template, other_codes, coupon)
        if refusal is not None:
            return Validation(coupon, None, refusal[0], refusal[1])
        return Validation(coupon, discount_for(template, cart))

    async def _stack_refusal(
        self,
        uow: UnitOfWork,
        template: CouponTemplate,
        other_codes: Sequence[str],
        coupon: Coupon,
    ) -> tuple[CouponRefusal, str] | None:
        """Two coupons on one order only when both stack."""
        normalized = [c for c in (normalize_code(t) for t in other_codes) if c]
        others = [c for c in await uow.repo(COUPONS).by_codes(normalized) if c.id != coupon.id]
        if not others:
            return None
        stack = [template.stackable]
        for other in others:
            other_template = await uow.repo(COUPONS).get_template(other.template_id)
            stack.append(other_template is not None and other_template.stackable)
        if not all(stack):
            return CouponRefusal.NOT_STACKABLE, "This coupon cannot be combined with the others."
        return None

    async def use(self, code_text: str, order_external_id: str) -> UseResult:
        """Marks the coupon used on the order, once: of concurrent uses one wins, the
        others are ALREADY_USED. The same code used again on the same order answers
        the first use (a retried checkout)."""
        now = self.clock.now()
        field = ("code",)
        refuse_control_characters(code_text or "", field)
        order = required_text(order_external_id, ("order_external_id",), max_length=MAX_ORDER_ID)
        code = normalize_code(code_text or "")
        async with self.uow_factory() as uow:
            coupons = uow.repo(COUPONS)
            coupon = await coupons.by_code(code) if code else None
            if coupon is None:
                raise DomainError(ErrorCode.NOT_FOUND, field, "No coupon has this code.")
            if coupon.status is CouponStatus.USED and coupon.order_external_id == order:
                return UseResult(coupon, replayed=True)
            template = present(await coupons.get_template(coupon.template_id), "template")
            refusal = time_refusal(coupon, now)
            if refusal is None and not await coupons.eligible(template, coupon.customer_id, now):
                refusal = CouponRefusal.NOT_ELIGIBLE, "The holder is not in this coupon's audience."
            if refusal is None:
                on_order = [c for c in await coupons.on_order(order) if c.id != coupon.id]
                stack = [template.stackable]
                for other in on_order:
                    other_template = await coupons.get_template(other.template_id)
                    stack.append(other_template is not None and other_template.stackable)
                if on_order and not all(stack):
                    refusal = (
                        CouponRefusal.NOT_STACKABLE,
                        "This order already has a coupon this one cannot be combined with.",
                    )
            if refusal is not None:
                raise DomainError(REFUSAL_CODES[refusal[0]], field, refusal[1])
            coupon_id = present(coupon.id, "coupon id")
            if not await coupons.mark_used(coupon_id, order, now):
                current = present(await coupons.get(coupon_id), "coupon")
                if current.status is CouponStatus.USED and current.order_external_id == order:
                    return UseResult(current, replayed=True)
                raise DomainError(ErrorCode.ALREADY_USED, field, "This coupon was already used.")
            used = present(await coupons.get(coupon_id), "coupon")
            await uow.repo(EVENTS).append(
                Event.of(
                    CouponUsedV1(
                        used.customer_id,
                        coupon_id=coupon_id,
                        template_id=used.template_id,
                        order_external_id=order,
                    ),
                    now,
                )
            )
            await uow.commit()
        return UseResult(used, replayed=False)


# ---- the daily pass ------------------------------------------------------------------


@dataclass
class CouponDailyReport:
    expired: int = 0
    expiry_notices: int = 0


async def run_coupon_pass(uow_factory: UnitOfWorkFactory, as_of: datetime) -> CouponDailyReport:
    """Coupons past their end turn EXPIRED; coupons ending within
    `coupon_expiring_soon_days` raise `coupon.expiring_soon`, once per coupon (the
    coupon remembers it was announced), so running it again the same day, or twice for
    the same instant, changes nothing."""
    report = CouponDailyReport()
    async with uow_factory() as uow:
        program = await uow.repo(PROGRAM).get()
        report.expired = await uow.repo(COUPONS).expire_due(as_of)
        await uow.commit()
    horizon = as_of + timedelta(days=program.coupon_expiring_soon_days)
    while True:
        async with uow_factory() as uow:
            notices = await uow.repo(COUPONS).expiry_notices_due(as_of, horizon, BATCH)
            for notice in notices:
                await uow.repo(EVENTS).append(
                    Event.of(
                        CouponExpiringSoonV1(
                            notice.customer_id,
                            coupon_id=notice.coupon_id,
                            template_id=notice.template_id,
                            expires_at=notice.valid_until,
                        ),
                        as_of,
                    )
                )
            await uow.commit()
        report.expiry_notices += len(notices)
        if len(notices) < BATCH:
            return report
