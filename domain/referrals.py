"""Referrals: a customer brings a friend with their code; both earn a bonus once
the friend's first qualifying order comes in.

Rules (docs/referrals.md, with the decisions where a bare rule is silent):
- Every customer has a short code from an alphabet without look-alike characters
  (no 0/O, 1/I/L), made when the customer is created (`new_code`, as the row is
  inserted) and never changed.
- Recording is refused for an unknown code, a self-referral, a referee who already
  has an order or a referrer, and a referrer who already has
  `referral_monthly_limit` *rewarded* (qualified) referrals this calendar month (in
  the program time zone). The limit is checked when the referral is recorded.
- A referral is PENDING until the referee's first order of at least
  `referral_min_order_amount`; that order makes it QUALIFIED in the same
  transaction, and both sides get their bonus as BONUS lots that follow the same
  pending rule as that order.
- If that order is refunded in full while the bonus lots are still pending, the
  referral is REVERSED and the lots are emptied (they never reached the ledger).
  Once the bonus is available a refund no longer takes it back.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from domain.clock import Clock
from domain.customers import (
    CUSTOMERS,
    Customer,
    CustomerRef,
    check_not_merged,
    find_or_prepare,
    ref_as_sent,
    ref_way,
    survivor_keys,
)
from domain.errors import DomainError, ErrorCode, ErrorCollector, present
from domain.event_payloads import (
    CustomerCreatedV1,
    ReferralQualifiedV1,
    ReferralRecordedV1,
    points_earned,
)
from domain.events import EVENTS, Event
from domain.fields import refuse_control_characters, required_text
from domain.idempotency import (
    IDEMPOTENCY,
    fingerprint,
    remembered_result,
    retrying,
)
from domain.points import POINTS, EntryKind, LedgerEntry, Lot, PointsAccount, lot_dates
from domain.program import PROGRAM, ProgramSettings
from domain.unit_of_work import Port, UnitOfWork, UnitOfWorkFactory

if TYPE_CHECKING:
    from domain.orders import Order

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8


class ReferralStatus(StrEnum):
    PENDING = "PENDING"
    QUALIFIED = "QUALIFIED"
    REVERSED = "REVERSED"


@dataclass
class Referral:
    id: int | None
    referrer_id: int
    referee_id: int
    code: str
    status: ReferralStatus
    recorded_at: datetime
    qualified_at: datetime | None = None
    reversed_at: datetime | None = None
    qualifying_order_id: int | None = None
    referrer_bonus: int = 0
    referee_bonus: int = 0
    idempotency_key: str | None = None


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(text: str) -> str:
    """Codes are read aloud and typed on phones: ignore case, spaces and dashes."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


@dataclass(frozen=True)
class RecordReferral:
    code: str
    referee: CustomerRef
    idempotency_key: str


@dataclass(frozen=True)
class RecordReferralResult:
    referral: Referral
    replayed: bool


class ReferralRepository(Protocol):
    async def get(self, referral_id: int) -> Referral | None: ...
    async def by_referee(self, referee_id: int) -> Referral | None: ...
    async def by_referees(self, referee_ids: Sequence[int]) -> dict[int, Referral]: ...
    async def save_many(self, referrals: Sequence[Referral]) -> None: ...
    async def add(self, referral: Referral) -> Referral: ...
    async def save(self, referral: Referral) -> None: ...
    async def qualified_since(self, referrer_id: int, since: datetime) -> int: ...
    async def customer_by_code(self, code: str) -> int | None: ...
    async def ensure_code(self, customer_id: int) -> str: ...
    async def has_orders(self, customer_id: int) -> bool: ...
    async def bonus_lots(self, referral_id: int) -> list[Lot]: ...


REFERRALS: Port[ReferralRepository] = Port("referrals")


def month_start(at: datetime, program: ProgramSettings) -> datetime:
    local = at.astimezone(program.zone)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


class ReferralService:
    def __init__(
        self, uow_factory: UnitOfWorkFactory, clock: Clock, *, phone_region: str | None
    ) -> None:
        self.uow_factory = uow_factory
        self.clock = clock
        self.phone_region = phone_region

    async def code_of(self, customer_id: int) -> str:
        """The customer's code, made now if their row has none: only a row written
        around the repository can lack one (codes are made at creation)."""

        async def attempt() -> str:
            async with self.uow_factory() as uow:
                code = await uow.repo(REFERRALS).ensure_code(customer_id)
                await uow.commit()
                return code

        return await retrying(attempt)

    async def record(self, command: RecordReferral) -> RecordReferralResult:
        errors = ErrorCollector()
        key = None
        code = normalize_code(command.code or "")
        try:
            # normalize_code drops what is not a letter or digit; a control character
            # is refused rather than silently dropped.
            refuse_control_characters(command.code or "", ("code",))
        except DomainError as exc:
            errors.capture(exc)
        else:
            if not code:
                errors.add(ErrorCode.REQUIRED, ("code",), "code must not be empty.")
        try:
            key = required_text(command.idempotency_key, ("idempotency_key",), max_length=128)
        except DomainError as exc:
            errors.capture(exc)
        ref = command.referee
        way = None
        try:
            way = ref_way(ref, ("referee",))
        except DomainError as exc:
            errors.capture(exc)
        errors.raise_if_any()
        request_hash = fingerprint(code, *ref_as_sent(ref, way))
        idempotency_key = present(key, "idempotencyKey")
        return await retrying(
            lambda: self._record_once(command, code, idempotency_key, request_hash)
        )

    async def _record_once(
        self, command: RecordReferral, code: str, key: str, request_hash: str
    ) -> RecordReferralResult:
        now = self.clock.now()
        async with self.uow_factory() as uow:
            remembered = await remembered_result(
                uow.repo(IDEMPOTENCY), "referralRecord", key, request_hash
            )
            if remembered is not None:
                referral = await uow.repo(REFERRALS).get(remembered["referralId"])
                return RecordReferralResult(present(referral, "referral"), replayed=True)
            referrer_id = await uow.repo(REFERRALS).customer_by_code(code)
            if referrer_id is None:
                raise DomainError(
                    ErrorCode.NOT_FOUND, ("code",), "No customer has this referral code."
                )
            # The code of a merged customer names its survivor, like its ids do.
            survivors = await survivor_keys(uow.repo(CUSTOMERS), [referrer_id])
            referrer_id = survivors.get(referrer_id, referrer_id)
            referee, created = await self._referee(uow, command.referee, now)
            if referee.id == referrer_id:
                raise DomainError(
                    ErrorCode.SELF_REFERRAL,
                    ("referee",),
                    "A customer cannot refer themselves.",
                )
            # Lock both customers in id order, so two referrals never deadlock.
            known = {referrer_id} if referee.id is None else {referrer_id, referee.id}
            check_not_merged(
                [
                    await uow.repo(CUSTOMERS).get(customer_id, for_update=True)
                    for customer_id in sorted(known)
                ]
            )
            if not created:
                referee_id = present(referee.id, "referee id")
                if await uow.repo(REFERRALS).by_referee(referee_id) is not None:
                    raise DomainError(
                        ErrorCode.ALREADY_REFERRED,
                        ("referee",),
                        "This customer was already referred by someone.",
                    )
                if await uow.repo(REFERRALS).has_orders(referee_id):
                    raise DomainError(
                        ErrorCode.REFEREE_HAS_ORDERS,
                        ("referee",),
                        "Only customers who have not ordered yet can be referred.",
                    )
            program = await uow.repo(PROGRAM).get()
            rewarded = await uow.repo(REFERRALS).qualified_since(
                referrer_id, month_start(now, program)
            )
            if rewarded >= program.referral_monthly_limit:
                raise DomainError(
                    ErrorCode.REFERRAL_LIMIT_REACHED,
                    ("code",),
                    f"This referrer already has {rewarded} rewarded referrals this month "
                    f"(the limit is {program.referral_monthly_limit}).",
                )
            if created:
                referee = await uow.repo(CUSTOMERS).add(referee)
                await uow.repo(EVENTS).append(
                    Event.of(CustomerCreatedV1(referee.id, referee.external_id), now)
                )
            referral = await uow.repo(REFERRALS).add(
                Referral(
                    id=None,
                    referrer_id=referrer_id,
                    referee_id=present(referee.id, "referee id"),
                    code=code,
                    status=ReferralStatus.PENDING,
                    recorded_at=now,
                    idempotency_key=key,
                )
            )
            await uow.repo(IDEMPOTENCY).remember(
                "referralRecord", key, request_hash, {"referralId": referral.id}, now
            )
            await uow.repo(EVENTS).append(
                Event.of(
                    ReferralRecordedV1(
                        referee.id,
                        referral_id=present(referral.id, "referral id"),
                        referrer_id=referrer_id,
                        referee_id=present(referee.id, "referee id"),
                        code=code,
                    ),
                    now,
                )
            )
            await uow.commit()
            return RecordReferralResult(referral, replayed=False)

    async def _referee(
        self, uow: UnitOfWork, ref: CustomerRef, now: datetime
    ) -> tuple[Customer, bool]:
        return await find_or_prepare(
            uow,
            ref,
            now,
            phone_region=self.phone_region,
            path=("referee",),
            lock=False,
        )


# ---- inside orderRecord / orderRefund ---------------------------------------------


async def lock_with_referrer(
    uow: UnitOfWork, customer_id: int, *, settles: ReferralStatus
) -> Customer | None:
    """Locks the customer and, when they are the referee of a referral in status
    `settles` (the one this order or refund may settle), its referrer too: lower
    customer id first, like every write that locks two customers, so two customers
    who referred each other and order at once queue instead of deadlocking.

    The referral is read before any lock: a referee's referral and its referrer never
    change, and a status only moves forward (PENDING → QUALIFIED → REVERSED). Returns
    the customer as locked (None when unknown)."""
    referral = await uow.repo(REFERRALS).by_referee(customer_id)
    ids = {customer_id}
    if referral is not None and referral.status is settles:
        ids.add(referral.referrer_id)
    locked = {i: await uow.repo(CUSTOMERS).get(i, for_update=True) for i in sorted(ids)}
    # A merge (docs/merging.md) is the one write that moves a referral, or the order a
    # caller read, to another customer: waiting for a lock it held, run again.
    check_not_merged(locked.values())
    return locked[customer_id]


@dataclass(frozen=True)
class Qualification:
    """What an order that qualifies a referral changes: the referral, both sides'
    bonus lots and the entries of those available at once (a pending lot writes its
    entry when it becomes available). Its events are `qualification_events`, made once
    the entries are written and numbered."""

    referral: Referral
    order: Order
    lots: list[Lot]
    entries: list[LedgerEntry]


def qualify_on_order(
    referral: Referral | None,
    order: Order,
    accounts: dict[int, PointsAccount],
    program: ProgramSettings,
    now: datetime,
) -> Qualification | None:
    """The pure rule, in the order's transaction: the first order of at least the
    minimum amount qualifies the customer's pending referral and pays both bonuses
    into `accounts` (referrer's and referee's, both locked by the caller — see
    `lock_with_referrer`). None when the order qualifies nothing."""
    if referral is None or referral.status is not ReferralStatus.PENDING:
        return None
    if order.amount < program.referral_min_order_amount:
        return None
    available_at, expires_at = lot_dates(order.placed_at, program.pending_days, program.expiry_days)
    referral = replace(
        referral,
        status=ReferralStatus.QUALIFIED,
        qualified_at=now,
        qualifying_order_id=order.id,
        referrer_bonus=program.referrer_bonus,
        referee_bonus=program.referee_bonus,
    )
    lots: list[Lot] = []
    entries: list[LedgerEntry] = []
    for customer_id, points, side in (
        (referral.referrer_id, program.referrer_bonus, "referrer"),
        (referral.referee_id, program.referee_bonus, "referee"),
    ):
        if points <= 0:
            continue
        entry = accounts[customer_id].credit(
            EntryKind.BONUS,
            points,
            now=now,
            available_at=available_at,
            expires_at=expires_at,
            reason=f"referral bonus ({side})",
            referral_id=referral.id,
        )
        lots.append(accounts[customer_id].new_lots[-1])
        if entry is not None:
            entries.append(entry)
    return Qualification(referral, order, lots, entries)


def qualification_events(qualification: Qualification, now: datetime) -> list[Event]:
    """The events of a qualification, in the order written: each side's
    `points.earned` (entries numbered by then), then `referral.qualified`."""
    referral = qualification.referral
    events = [Event.of(points_earned(entry), now) for entry in qualification.entries]
    events.append(
        Event.of(
            ReferralQualifiedV1(
                referral.referee_id,
                referral_id=present(referral.id, "referral id"),
                referrer_id=referral.referrer_id,
                referee_id=referral.referee_id,
                order_id=present(qualification.order.id, "order id"),
                referrer_bonus=referral.referrer_bonus or 0,
                referee_bonus=referral.referee_bonus or 0,
            ),
            now,
        )
    )
    return events


async def reverse_on_full_refund(uow: UnitOfWork, order: Order, now: datetime) -> None:
    """The qualifying order was refunded in full: if the bonus lots are still pending,
    empty them and mark the referral REVERSED."""
    referral = await uow.repo(REFERRALS).by_referee(order.customer_id)
    if (
        referral is None
        or referral.status is not ReferralStatus.QUALIFIED
        or referral.qualifying_order_id != order.id
    ):
        return
    lots = await uow.repo(REFERRALS).bonus_lots(present(referral.id, "referral id"))
    if any(lot.state.value != "PENDING" for lot in lots):
        return
    await uow.repo(CUSTOMERS).get(referral.referrer_id, for_update=True)  # held already
    for customer_id in (referral.referrer_id, referral.referee_id):
        account = await uow.repo(POINTS).load_account(customer_id)
        for lot in account.lots:
            if lot.id in {x.id for x in lots}:
                account.shrink_pending(lot, lot.remaining)
        await uow.repo(POINTS).save_account(account, [])
    await uow.repo(REFERRALS).save(
        replace(referral, status=ReferralStatus.REVERSED, reversed_at=now)
    )
