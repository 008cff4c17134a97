"""The event catalogue: one payload definition per event type and schema version.

Each definition is a frozen dataclass (its fields are the payload's keys, camelCase
in JSON) with the event type it belongs to and its schema version. A payload's JSON
always carries `schemaVersion` and the customer's id (`customerId`); ids are database
ids (the number inside a GraphQL global ID), amounts are decimal strings in the
program currency, instants ISO 8601 in UTC, local dates ISO 8601 in the program time
zone.

Versioning rule: a field may be added to a version without changing it (consumers
ignore keys they do not know); renaming, removing or changing the meaning of a field
makes a new version, defined here beside the old one, and the old one keeps being
documented for as long as stored events carry it.

`check(type, document)` validates a stored payload against its definition (the
tests run it over every event a scenario stores); `EXAMPLES` holds one example per
type, from which the README's catalogue is generated.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from types import NoneType, UnionType
from typing import Any

from domain.classification import LifecycleStage
from domain.events import SCHEMA_VERSION_KEY, EventPayload, EventType, camel
from domain.points import LedgerEntry

# ---- customers and orders -------------------------------------------------------------


@dataclass(frozen=True)
class CustomerCreatedV1(EventPayload):
    """A customer was created (by `customerUpsert`, or by the first order or referral
    naming an unknown external id)."""

    TYPE = EventType.CUSTOMER_CREATED
    VERSION = 1

    external_id: str


@dataclass(frozen=True)
class CustomerMergedV1(EventPayload):
    """A duplicate was merged into this customer (`customerMerge`, docs/merging.md):
    everything of `mergedCustomerId` now belongs to `customerId`, the survivor, and
    lookups by the merged customer's id or externalId find the survivor."""

    TYPE = EventType.CUSTOMER_MERGED
    VERSION = 1

    merge_id: int
    merged_customer_id: int
    merged_external_id: str
    orders_moved: int
    points_moved: int
    pending_points_moved: int
    balance: int


@dataclass(frozen=True)
class MessageSentV1(EventPayload):
    """A message's provider accepted it (docs/messaging.md): over `channel`, with the
    template at `templateId`; `campaignId` when it was sent for a campaign (null
    otherwise). `dedupeKey` is the key the sender queued it with."""

    TYPE = EventType.MESSAGE_SENT
    VERSION = 1

    message_id: int
    dedupe_key: str
    channel: str
    template_id: int
    campaign_id: int | None
    marketing: bool


@dataclass(frozen=True)
class MessageSkippedV1(EventPayload):
    """A message ended without a send: `status` SKIPPED (every template skipped) or
    FAILED (a provider refused at least one); `reason` is the last template's outcome
    (NO_CONSENT, NO_ADDRESS, CAPPED, FAILED). A message delayed by quiet hours or
    retried raises nothing until it ends."""

    TYPE = EventType.MESSAGE_SKIPPED
    VERSION = 1

    message_id: int
    dedupe_key: str
    status: str
    reason: str
    campaign_id: int | None
    marketing: bool


@dataclass(frozen=True)
class OrderRecordedV1(EventPayload):
    """An order was recorded. `pointsEarned` counts points still pending too."""

    TYPE = EventType.ORDER_RECORDED
    VERSION = 1

    order_id: int
    order_external_id: str
    amount: Decimal
    currency: str
    placed_at: datetime
    points_earned: int


@dataclass(frozen=True)
class OrderRefundedV1(EventPayload):
    """A refund of an order, in full or in part (`amount`: this refund)."""

    TYPE = EventType.ORDER_REFUNDED
    VERSION = 1

    order_id: int
    order_external_id: str
    refund_id: int
    amount: Decimal
    currency: str
    refunded_total: Decimal
    fully_refunded: bool
    points_reversed: int


# ---- points -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PointsEarnedV1(EventPayload):
    """Points entered the available balance: an order's points (`kind` EARN, with
    `orderId`; one event per ledger entry, so an order that earning rules add to
    raises one for its base points and one for each rule's, with `ruleId`), a
    referral bonus (`kind` BONUS, with `referralId`), an action's points
    (`activityRecord`: `kind` BONUS, with its ACTIVITY rule's `ruleId`), at once or
    when their lot stopped being pending (the daily pass). Fields that do not apply
    are null."""

    TYPE = EventType.POINTS_EARNED
    VERSION = 1

    entry_id: int | None
    kind: str
    points: int
    balance: int
    reason: str | None
    order_id: int | None
    order_external_id: str | None
    referral_id: int | None
    rule_id: int | None  # the earning rule whose points these are (null: none)


def points_earned(entry: LedgerEntry, order_external_id: str | None = None) -> PointsEarnedV1:
    """The one `points.earned` of a credit that entered the available balance."""
    return PointsEarnedV1(
        entry.customer_id,
        entry_id=entry.id,
        kind=entry.kind.value,
        points=entry.points,
        balance=entry.balance_after,
        reason=entry.reason,
        order_id=entry.order_id,
        order_external_id=order_external_id,
        referral_id=entry.referral_id,
        rule_id=entry.rule_id,
    )


@dataclass(frozen=True)
class PointsAdjustedV1(EventPayload):
    """An admin's manual credit or debit (`points` signed)."""

    TYPE = EventType.POINTS_ADJUSTED
    VERSION = 1

    entry_id: int | None
    points: int
    balance: int
    reason: str


@dataclass(frozen=True)
class PointsRedeemedV1(EventPayload):
    """Points spent on a reward."""

    TYPE = EventType.POINTS_REDEEMED
    VERSION = 1

    entry_id: int | None
    points: int
    balance: int
    redemption_id: int
    reward_id: int


@dataclass(frozen=True)
class PointsExpiredV1(EventPayload):
    """Lots expired in the daily pass: the total taken off this customer."""

    TYPE = EventType.POINTS_EXPIRED
    VERSION = 1

    points: int
    balance: int


@dataclass(frozen=True)
class PointsExpiringSoonV1(EventPayload):
    """Lots that expire within `expiringSoonDays`, announced once per lot."""

    TYPE = EventType.POINTS_EXPIRING_SOON
    VERSION = 1

    points: int
    expires_at: datetime


# ---- tiers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TierChangedV1(EventPayload):
    """The shape shared by `tier.upgraded` and `tier.downgraded`."""

    from_tier_id: int | None
    from_tier: str | None
    to_tier_id: int | None
    to_tier: str | None
    reason: str
    basis: str
    qualifying_value: Decimal


@dataclass(frozen=True)
class TierUpgradedV1(TierChangedV1):
    """An order crossed a threshold: the move happens in the order's transaction."""

    TYPE = EventType.TIER_UPGRADED
    VERSION = 1


@dataclass(frozen=True)
class TierDowngradedV1(TierChangedV1):
    """The daily pass stepped a customer down."""

    TYPE = EventType.TIER_DOWNGRADED
    VERSION = 1


# ---- rewards and referrals ------------------------------------------------------------


@dataclass(frozen=True)
class RewardRedeemedV1(EventPayload):
    """A reward was redeemed (`rewardRedeem`); `points.redeemed` comes with it."""

    TYPE = EventType.REWARD_REDEEMED
    VERSION = 1

    reward_id: int
    redemption_id: int
    points_spent: int


@dataclass(frozen=True)
class RedemptionUsedV1(EventPayload):
    """The storefront marked the redemption's code used at checkout."""

    TYPE = EventType.REDEMPTION_USED
    VERSION = 1

    redemption_id: int
    reward_id: int


@dataclass(frozen=True)
class RedemptionCancelledV1(EventPayload):
    """Points given back (into the lots they came from) and stock returned."""

    TYPE = EventType.REDEMPTION_CANCELLED
    VERSION = 1

    redemption_id: int
    reward_id: int
    points: int
    balance: int


@dataclass(frozen=True)
class ReferralRecordedV1(EventPayload):
    """About the referee (`customerId` = `refereeId`)."""

    TYPE = EventType.REFERRAL_RECORDED
    VERSION = 1

    referral_id: int
    referrer_id: int
    referee_id: int
    code: str


@dataclass(frozen=True)
class ReferralQualifiedV1(EventPayload):
    """About the referee; `orderId` is the qualifying order."""

    TYPE = EventType.REFERRAL_QUALIFIED
    VERSION = 1

    referral_id: int
    referrer_id: int
    referee_id: int
    order_id: int
    referrer_bonus: int
    referee_bonus: int


# ---- the daily triggers ---------------------------------------------------------------


@dataclass(frozen=True)
class LifecycleChangedV1(EventPayload):
    """The customer's lifecycle stage differs from the one stored at the last daily
    pass. `toStage` SILENT is the win-back trigger."""

    TYPE = EventType.CUSTOMER_LIFECYCLE_CHANGED
    VERSION = 1

    from_stage: LifecycleStage
    to_stage: LifecycleStage
    last_order_at: datetime | None
    local_date: date


@dataclass(frozen=True)
class BirthdayV1(EventPayload):
    """The customer's birthday in the program time zone (29 February is celebrated on
    28 February in common years). `age` is the age reached that day."""

    TYPE = EventType.CUSTOMER_BIRTHDAY
    VERSION = 1

    birthday: date
    local_date: date
    age: int


@dataclass(frozen=True)
class RepurchaseDueV1(EventPayload):
    """`reminderDays` calendar days (program time zone) have passed since the
    customer's last counted order without a new one: once per order that started
    the wait. `dueOn` is the local date it fell due (the pass may catch up later)."""

    TYPE = EventType.CUSTOMER_REPURCHASE_DUE
    VERSION = 1

    order_id: int
    order_external_id: str
    last_order_at: datetime
    reminder_days: int
    due_on: date


@dataclass(frozen=True)
class SegmentMembershipV1(EventPayload):
    """The shape shared by `segment.entered` and `segment.exited`."""

    segment_id: int
    segment_name: str
    local_date: date


@dataclass(frozen=True)
class SegmentEnteredV1(SegmentMembershipV1):
    """The customer is in a tracked segment today and was not at the last pass."""

    TYPE = EventType.SEGMENT_ENTERED
    VERSION = 1


@dataclass(frozen=True)
class SegmentExitedV1(SegmentMembershipV1):
    """The customer was in a tracked segment at the last pass and is not today."""

    TYPE = EventType.SEGMENT_EXITED
    VERSION = 1


@dataclass(frozen=True)
class CouponUsedV1(EventPayload):
    """A storefront used the coupon on an order (`couponUse`)."""

    TYPE = EventType.COUPON_USED
    VERSION = 1

    coupon_id: int
    template_id: int
    order_external_id: str


@dataclass(frozen=True)
class CouponRestoredV1(EventPayload):
    """A full refund gave back the coupons used on the order (program setting
    `couponRestoreOnRefund`); `coupons` is how many."""

    TYPE = EventType.COUPON_RESTORED
    VERSION = 1

    order_external_id: str
    coupons: int


@dataclass(frozen=True)
class CouponExpiringSoonV1(EventPayload):
    """The daily pass, once per coupon, `couponExpiringSoonDays` before it ends."""

    TYPE = EventType.COUPON_EXPIRING_SOON
    VERSION = 1

    coupon_id: int
    template_id: int
    expires_at: datetime


@dataclass(frozen=True)
class JourneyActedV1(EventPayload):
    """A journey's run for the customer finished having acted: `status` COMPLETED
    (every action taken), HOLDOUT (the customer is in the holdout: nothing done) or
    FAILED (an action was refused; the steps before it stand). A skipped run raises
    none. `triggerEventId` is the event that started the run."""

    TYPE = EventType.JOURNEY_ACTED
    VERSION = 1

    journey_id: int
    run_id: int
    status: str
    arm: str
    trigger_event_id: int
    campaign_id: int


# ---- the registry ---------------------------------------------------------------------

DEFINITIONS: dict[tuple[EventType, int], type[EventPayload]] = {
    (cls.TYPE, cls.VERSION): cls
    for cls in (
        CustomerCreatedV1,
        MessageSentV1,
        MessageSkippedV1,
        OrderRecordedV1,
        OrderRefundedV1,
        PointsEarnedV1,
        PointsAdjustedV1,
        PointsRedeemedV1,
        PointsExpiredV1,
        PointsExpiringSoonV1,
        TierUpgradedV1,
        TierDowngradedV1,
        RewardRedeemedV1,
        RedemptionUsedV1,
        RedemptionCancelledV1,
        ReferralRecordedV1,
        ReferralQualifiedV1,
        LifecycleChangedV1,
        BirthdayV1,
        RepurchaseDueV1,
        SegmentEnteredV1,
        SegmentExitedV1,
        CouponUsedV1,
        CouponRestoredV1,
        CouponExpiringSoonV1,
        CustomerMergedV1,
        JourneyActedV1,
    )
}
CURRENT: dict[EventType, type[EventPayload]] = {}
for (_type, _version), _cls in sorted(DEFINITIONS.items()):
    CURRENT[_type] = _cls


def check(event_type: str, document: object) -> list[str]:
    """What is wrong with a stored payload, measured against its definition (by its
    type and `schemaVersion`): missing or unknown keys, values of the wrong JSON type.
    An empty list: it conforms."""
    if not isinstance(document, dict):
        return ["the payload is not a JSON object"]
    try:
        kind = EventType(event_type)
    except ValueError:
        return [f"unknown event type {event_type!r}"]
    version = document.get(SCHEMA_VERSION_KEY)
    definition = DEFINITIONS.get((kind, version)) if isinstance(version, int) else None
    if definition is None:
        return [f"no definition of {event_type} version {version!r}"]
    hints = typing.get_type_hints(definition)
    expected = {camel(f.name): hints[f.name] for f in dataclasses.fields(definition)}
    problems = []
    keys = set(document) - {SCHEMA_VERSION_KEY}
    problems += [f"missing key {k}" for k in sorted(set(expected) - keys)]
    problems += [f"unknown key {k}" for k in sorted(keys - set(expected))]
    for key in sorted(set(expected) & keys):
        if not _conforms(document[key], expected[key]):
            problems.append(f"{key}: {document[key]!r} is not a {expected[key]}")
    return problems


def _conforms(value: object, hint: Any) -> bool:
    if isinstance(hint, UnionType):
        return any(_conforms(value, arm) for arm in typing.get_args(hint))
    if hint is NoneType:
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if not isinstance(value, str):
        return False
    if isinstance(hint, type) and issubclass(hint, Enum):
        return value in {member.value for member in hint}
    parsers: dict[Any, Any] = {
        Decimal: Decimal,
        datetime: datetime.fromisoformat,
        date: date.fromisoformat,
    }
    try:
        parsed = parsers[hint](value)
    except (ValueError, InvalidOperation):
        return False
    if hint is datetime:
        return parsed.tzinfo is not None  # instants are aware
    if hint is date:
        return len(value) == len("2026-01-31")
    return bool(parsed.is_finite())


# ---- examples (the README's catalogue is generated from these) -------------------------

_AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
_DAY = date(2026, 3, 1)

EXAMPLES: tuple[EventPayload, ...] = (
    CustomerCreatedV1(customer_id=42, external_id="shop-1001"),
    MessageSentV1(
        customer_id=42,
        message_id=88,
        dedupe_key="journey:12:run:345:step:0",
        channel="SMS",
        template_id=5,
        campaign_id=9,
        marketing=True,
    ),
    MessageSkippedV1(
        customer_id=42,
        message_id=89,
        dedupe_key="journey:12:run:346:step:0",
        status="SKIPPED",
        reason="NO_CONSENT",
        campaign_id=9,
        marketing=True,
    ),
    CustomerMergedV1(
        customer_id=42,
        merge_id=3,
        merged_customer_id=57,
        merged_external_id="pos-88001",
        orders_moved=4,
        points_moved=320,
        pending_points_moved=0,
        balance=1250,
    ),
    OrderRecordedV1(
        customer_id=42,
        order_id=7,
        order_external_id="A-1001",
        amount=Decimal("259.00"),
        currency="CNY",
        placed_at=_AT,
        points_earned=259,
    ),
    OrderRefundedV1(
        customer_id=42,
        order_id=7,
        order_external_id="A-1001",
        refund_id=3,
        amount=Decimal("59.00"),
        currency="CNY",
        refunded_total=Decimal("59.00"),
        fully_refunded=False,
        points_reversed=59,
    ),
    PointsEarnedV1(
        customer_id=42,
        entry_id=311,
        kind="EARN",
        points=259,
        balance=1259,
        reason="order A-1001",
        order_id=7,
        order_external_id="A-1001",
        referral_id=None,
        rule_id=None,
    ),
    PointsAdjustedV1(
        customer_id=42, entry_id=312, points=-50, balance=1209, reason="goodwill correction"
    ),
    PointsRedeemedV1(
        customer_id=42, entry_id=313, points=500, balance=709, redemption_id=12, reward_id=4
    ),
    PointsExpiredV1(customer_id=42, points=120, balance=589),
    PointsExpiringSoonV1(customer_id=42, points=300, expires_at=_AT),
    TierUpgradedV1(
        customer_id=42,
        from_tier_id=1,
        from_tier="Bronze",
        to_tier_id=2,
        to_tier="Silver",
        reason="order A-1001",
        basis="POINTS_EARNED",
        qualifying_value=Decimal("1259"),
    ),
    TierDowngradedV1(
        customer_id=42,
        from_tier_id=2,
        from_tier="Silver",
        to_tier_id=1,
        to_tier="Bronze",
        reason="qualifying value below the threshold",
        basis="POINTS_EARNED",
        qualifying_value=Decimal("640"),
    ),
    RewardRedeemedV1(customer_id=42, reward_id=4, redemption_id=12, points_spent=500),
    RedemptionUsedV1(customer_id=42, redemption_id=12, reward_id=4),
    RedemptionCancelledV1(customer_id=42, redemption_id=12, reward_id=4, points=500, balance=1209),
    ReferralRecordedV1(customer_id=43, referral_id=5, referrer_id=42, referee_id=43, code="K7M4QX"),
    ReferralQualifiedV1(
        customer_id=43,
        referral_id=5,
        referrer_id=42,
        referee_id=43,
        order_id=8,
        referrer_bonus=100,
        referee_bonus=100,
    ),
    LifecycleChangedV1(
        customer_id=42,
        from_stage=LifecycleStage.ACTIVE,
        to_stage=LifecycleStage.SILENT,
        last_order_at=_AT,
        local_date=date(2026, 4, 1),
    ),
    BirthdayV1(customer_id=42, birthday=date(1990, 3, 1), local_date=_DAY, age=36),
    RepurchaseDueV1(
        customer_id=42,
        order_id=7,
        order_external_id="A-1001",
        last_order_at=_AT,
        reminder_days=30,
        due_on=date(2026, 3, 31),
    ),
    SegmentEnteredV1(customer_id=42, segment_id=15, segment_name="VIP Shanghai", local_date=_DAY),
    SegmentExitedV1(customer_id=42, segment_id=15, segment_name="VIP Shanghai", local_date=_DAY),
    CouponUsedV1(customer_id=42, coupon_id=31, template_id=4, order_external_id="A-1002"),
    CouponRestoredV1(customer_id=42, order_external_id="A-1002", coupons=1),
    CouponExpiringSoonV1(
        customer_id=42, coupon_id=31, template_id=4, expires_at=datetime(2026, 3, 4, 16, tzinfo=UTC)
    ),
    JourneyActedV1(
        customer_id=42,
        journey_id=3,
        run_id=812,
        status="COMPLETED",
        arm="A",
        trigger_event_id=9051,
        campaign_id=12,
    ),
)
