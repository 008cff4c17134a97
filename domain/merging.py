"""Merging duplicate customers (`customerMerge`) and finding them (`duplicateCandidates`).

Merging B (the *merged* customer) into A (the *survivor*), in one transaction with
both customers locked in id order (docs/merging.md):

- B's orders (with their items, refunds and points lines), redemptions, feedback,
  coupons, activities and identities become A's; B's tags are added to A's (a union);
  B's referrals move too, as referee and as referrer;
- B's points move lot by lot (`domain.points.transfer`: TRANSFER_OUT on B,
  TRANSFER_IN on A, every lot keeping its dates and state; pending lots move without
  entries; a debt moves as a debt);
- A's order statistics, the per-customer-month read model (for both), and A's tier
  are recomputed as for one customer with both histories: A moves up to the tier the
  union's qualifying value reaches, or to B's tier when B held a higher one (the
  union would have reached it when B did; only the daily job moves anyone down);
- B is marked merged into A (`merged_into_id`): every lookup by B's id or externalId
  finds A from then on. A `customer_merges` row keeps who merged whom, when and what
  moved, and a `customer.merged` event is raised.

Refused, each naming its field: merging a customer into itself, an unknown, erased or
already merged customer on either side, and a merge that would give A two referrers
(both were referred) or make A its own referrer (one referred the other).

Idempotent on the caller's key: the same request again returns the first merge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from domain import tiers
from domain.clock import Clock
from domain.customers import CUSTOMERS, Customer
from domain.errors import DomainError, ErrorCode, ErrorCollector, present
from domain.event_payloads import CustomerMergedV1
from domain.events import EVENTS, Event
from domain.fields import required_text
from domain.idempotency import IDEMPOTENCY, fingerprint, remembered_result, retrying
from domain.journeys.ports import JOURNEYS
from domain.messaging.consent import CONSENTS
from domain.messaging.messages import MESSAGES
from domain.orders import ORDERS
from domain.points import POINTS, transfer
from domain.program import PROGRAM, ProgramSettings
from domain.redemptions import rescope_cancels
from domain.referrals import REFERRALS
from domain.tiers import TIERS
from domain.unit_of_work import Port, UnitOfWork, UnitOfWorkFactory

OPERATION = "customerMerge"
MERGE_REASON = "customer merge"


@dataclass(frozen=True)
class MergeCustomers:
    survivor_id: int
    merged_id: int
    idempotency_key: str
    api_key_id: int | None = None


@dataclass(frozen=True)
class MergeCounts:
    """What one merge moved from the merged customer to the survivor."""

    orders: int = 0
    lots: int = 0
    points: int = 0  # available points (negative: a debt moved)
    pending_points: int = 0
    tags: int = 0  # tags the survivor did not have yet
    redemptions: int = 0
    referrals: int = 0  # as referee and as referrer
    feedback: int = 0
    coupons: int = 0
    activities: int = 0
    identities: int = 0


@dataclass(frozen=True)
class MergeRecord:
    id: int | None
    survivor_id: int
    merged_id: int
    counts: MergeCounts
    created_at: datetime
    api_key_id: int | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class MovedRows:
    """Row counts of `MergeRepository.move_rows`."""

    orders: int
    lots: int
    tags: int
    redemptions: int
    referrals: int
    feedback: int
    coupons: int
    activities: int
    identities: int


@dataclass(frozen=True)
class MergeResult:
    record: MergeRecord
    survivor: Customer
    merged: Customer
    replayed: bool


class DuplicateReason(StrEnum):
    """Why two customers look like one person (strongest first)."""

    IDENTITY = "IDENTITY"  # the same WeChat id value on both
    PHONE = "PHONE"  # the same phone number (stored in E.164)
    EMAIL = "EMAIL"  # the same e-mail address (stored lower-cased)


# How strongly each shared key suggests one person, in percent. Several shared keys
# combine as independent evidence: score = 100 × (1 − Π (1 − weight / 100)), floored,
# so PHONE alone is 60, PHONE and EMAIL 80, all three 98.
REASON_WEIGHTS: dict[DuplicateReason, int] = {
    DuplicateReason.IDENTITY: 90,
    DuplicateReason.PHONE: 60,
    DuplicateReason.EMAIL: 50,
}


# A phone, e-mail or WeChat id that more live customers than this share is not taken
# as evidence of one person: it is a shop's own phone typed in for walk-in members, a
# placeholder e-mail, a test id. It would also make n² pairs (5,000 customers on one
# store phone: 12.5 million), every one of them computed for each page.
MAX_SHARING = 10


def duplicate_score(reasons: Sequence[DuplicateReason]) -> int:
    """The score of a pair sharing `reasons` (see REASON_WEIGHTS)."""
    left = 1
    scale = 1
    for reason in set(reasons):
        left *= 100 - REASON_WEIGHTS[reason]
        scale *= 100
    return 100 - (100 * left) // scale


@dataclass(frozen=True)
class DuplicatePair:
    """Two live customers (lower id first) that share a phone, e-mail or WeChat id."""

    first_id: int
    second_id: int
    reasons: tuple[DuplicateReason, ...]
    score: int

    @property
    def reason(self) -> DuplicateReason:
        """The strongest reason."""
        return max(self.reasons, key=lambda r: REASON_WEIGHTS[r])


class MergeRepository(Protocol):
    async def orders_of(self, customer_id: int) -> list[tuple[int, datetime]]:
        """(order id, placed_at) of every order of the customer."""
        ...

    async def move_rows(self, survivor_id: int, merged_id: int) -> MovedRows:
        """Moves every row of `merged_id` to `survivor_id` (orders and what hangs on
        them, all point lots, redemptions, referrals both ways, feedback, coupons,
        activities, identities; tags as a union), re-points customers merged into
        `merged_id` earlier, and marks `merged_id` merged (no tier, no statistics)."""
        ...

    async def add(self, record: MergeRecord) -> MergeRecord: ...

    async def get(self, merge_id: int) -> MergeRecord | None: ...


MERGES: Port[MergeRepository] = Port("merges")


def _check_live(customer: Customer | None, field: str) -> Customer:
    if customer is None:
        raise DomainError(ErrorCode.NOT_FOUND, (field,), "No customer has this id.")
    if customer.erased_at is not None:
        raise DomainError(
            ErrorCode.ERASED, (field,), "This customer's personal data was erased; no merge."
        )
    if customer.merged_into_id is not None:
        raise DomainError(
            ErrorCode.INVALID,
            (field,),
            f"This customer was already merged into customer {customer.merged_into_id}.",
        )
    return customer


class MergeService:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self.uow_factory = uow_factory
        self.clock = clock

    async def merge(self, command: MergeCustomers) -> MergeResult:
        errors = ErrorCollector()
        key = None
        try:
            key = required_text(command.idempotency_key, ("idempotency_key",), max_length=128)
        except DomainError as exc:
            errors.capture(exc)
        if command.survivor_id == command.merged_id:
            errors.add(ErrorCode.INVALID, ("merged",), "A customer cannot be merged into itself.")
        errors.raise_if_any()
        key = present(key, "idempotencyKey")
        request_hash = fingerprint(command.survivor_id, command.merged_id)
        return await retrying(lambda: self._once(command, key, request_hash))

    async def _once(self, command: MergeCustomers, key: str, request_hash: str) -> MergeResult:
        now = self.clock.now()
        a, b = command.survivor_id, command.merged_id
        async with self.uow_factory() as uow:
            # Both customers, in id order (as every write locking two customers does).
            locked = await uow.repo(CUSTOMERS).lock_many([a, b])
            remembered = await remembered_result(
                uow.repo(IDEMPOTENCY), OPERATION, key, request_hash
            )
            if remembered is not None:
                record = present(await uow.repo(MERGES).get(remembered["mergeId"]), "merge")
                return MergeResult(
                    record,
                    present(locked.get(a), "survivor"),
                    present(locked.get(b), "merged customer"),
                    replayed=True,
                )
            survivor = _check_live(locked.get(a), "survivor")
            merged = _check_live(locked.get(b), "merged")
            await self._check_referrals(uow, a, b)
            record = await self._move(uow, survivor, merged, command, key, now)
            await uow.repo(IDEMPOTENCY).remember(
                OPERATION, key, request_hash, {"mergeId": record.id}, now
            )
            fresh = await uow.repo(CUSTOMERS).lock_many([a, b])
            await uow.repo(EVENTS).append(
                Event.of(
                    CustomerMergedV1(
                        a,
                        merge_id=present(record.id, "merge id"),
                        merged_customer_id=b,
                        merged_external_id=merged.external_id,
                        orders_moved=record.counts.orders,
                        points_moved=record.counts.points,
                        pending_points_moved=record.counts.pending_points,
                        balance=present(fresh[a].stats, "stats").points_balance,
                    ),
                    now,
                )
            )
            await uow.commit()
        return MergeResult(record, fresh[a], fresh[b], replayed=False)

    @staticmethod
    async def _check_referrals(uow: UnitOfWork, a: int, b: int) -> None:
        referral_of = await uow.repo(REFERRALS).by_referees([a, b])
        of_a, of_b = referral_of.get(a), referral_of.get(b)
        if of_a is not None and of_b is not None:
            raise DomainError(
                ErrorCode.ALREADY_REFERRED,
                ("merged",),
                f"Both customers were referred (by customers {of_a.referrer_id} and "
                f"{of_b.referrer_id}): the survivor would have two referrers.",
            )
        if (of_a is not None and of_a.referrer_id == b) or (
            of_b is not None and of_b.referrer_id == a
        ):
            raise DomainError(
                ErrorCode.SELF_REFERRAL,
                ("merged",),
                "One customer referred the other: the survivor would be its own referrer.",
            )

    @staticmethod
    async def _move(
        uow: UnitOfWork,
        survivor: Customer,
        merged: Customer,
        command: MergeCustomers,
        key: str,
        now: datetime,
    ) -> MergeRecord:
        a, b = present(survivor.id, "survivor id"), present(merged.id, "merged id")
        program = await uow.repo(PROGRAM).get()
        orders = await uow.repo(MERGES).orders_of(b)
        # Points first, lot by lot, while the lots are still B's.
        source = await uow.repo(POINTS).load_account(b)
        target = await uow.repo(POINTS).load_account(a)
        moved = transfer(source, target, now, f"{MERGE_REASON}: {b} into {a}")
        for entry in (*moved.out_entries, *moved.in_entries):
            entry.api_key_id = command.api_key_id
            entry.idempotency_key = key
        await uow.repo(POINTS).save_account(source, moved.out_entries)
        await uow.repo(POINTS).save_account(target, moved.in_entries)
        rows = await uow.repo(MERGES).move_rows(a, b)
        await rescope_cancels(uow, b, a)
        # Messaging (docs/messaging.md): consent and messages move to the survivor.
        await uow.repo(CONSENTS).move(b, a)
        await uow.repo(MESSAGES).reown(b, a)
        # Journeys (docs/journeys.md): runs, done or waiting, move to the survivor.
        await uow.repo(JOURNEYS).reown_runs(b, a)
        await uow.repo(ORDERS).refresh_customers_stats([a, b])
        await uow.repo(ORDERS).refresh_order_months(
            [(cid, placed_at) for _, placed_at in orders for cid in (a, b)]
        )
        await _settle_tier(uow, survivor, merged, program, now)
        record = MergeRecord(
            id=None,
            survivor_id=a,
            merged_id=b,
            counts=MergeCounts(
                orders=rows.orders,
                lots=rows.lots,
                points=moved.points,
                pending_points=moved.pending,
                tags=rows.tags,
                redemptions=rows.redemptions,
                referrals=rows.referrals,
                feedback=rows.feedback,
                coupons=rows.coupons,
                activities=rows.activities,
                identities=rows.identities,
            ),
            created_at=now,
            api_key_id=command.api_key_id,
            idempotency_key=key,
        )
        return await uow.repo(MERGES).add(record)


async def _settle_tier(
    uow: UnitOfWork, survivor: Customer, merged: Customer, program: ProgramSettings, now: datetime
) -> None:
    """A's tier as one customer with both histories: the existing upgrade decision on
    the union's qualifying value, then B's tier if B held a higher one."""
    a = present(survivor.id, "survivor id")
    upgraded = await tiers.upgrade_after_order(uow, a, program, now)
    tier_list = await uow.repo(TIERS).all()
    held_id = upgraded.to_tier.id if upgraded and upgraded.to_tier else None
    if upgraded is None:
        held_id = present(survivor.stats, "stats").tier_id
    held = tiers.find_tier(tier_list, held_id)
    of_merged = tiers.find_tier(tier_list, present(merged.stats, "stats").tier_id)
    if of_merged is None or (held is not None and held.rank >= of_merged.rank):
        return
    values = await uow.repo(TIERS).qualifying_values(
        [a], program.tier_basis, tiers.qualifying_window(program, now)
    )
    change = tiers.TierChange(
        a,
        held,
        of_merged,
        f"{MERGE_REASON}: tier of customer {merged.id}",
        now,
        values.get(a, Decimal(0)),
        tiers.Direction.UPGRADE,
    )
    await uow.repo(TIERS).move([change])
    await uow.repo(EVENTS).append(tiers.tier_event(change, program))
