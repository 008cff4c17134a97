"""Manual point adjustments by an admin (`pointsAdjust`): goodwill credits and
corrections. Idempotent on the caller's key; a debit never makes the balance
negative."""

from __future__ import annotations

from dataclasses import dataclass, replace

from domain.clock import Clock
from domain.customers import CUSTOMERS, Customer, check_not_merged, survivor_id
from domain.errors import DomainError, ErrorCode, ErrorCollector, present
from domain.event_payloads import PointsAdjustedV1
from domain.events import EVENTS, Event
from domain.fields import required_text
from domain.idempotency import (
    IDEMPOTENCY,
    fingerprint,
    remembered_result,
    retrying,
)
from domain.points import (
    MAX_ADJUSTMENT,
    POINTS,
    EntryKind,
    lot_dates,
)
from domain.program import PROGRAM
from domain.unit_of_work import UnitOfWorkFactory


@dataclass(frozen=True)
class AdjustPoints:
    customer_id: int
    points: int
    reason: str
    idempotency_key: str
    api_key_id: int | None = None


@dataclass(frozen=True)
class AdjustResult:
    customer: Customer
    entry_id: int
    replayed: bool


class AdjustmentService:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self.uow_factory = uow_factory
        self.clock = clock

    async def adjust(self, command: AdjustPoints) -> AdjustResult:
        errors = ErrorCollector()
        reason = key = None
        if command.points == 0 or abs(command.points) > MAX_ADJUSTMENT:
            errors.add(
                ErrorCode.INVALID,
                ("points",),
                f"points must be a non-zero whole number up to ±{MAX_ADJUSTMENT}.",
            )
        try:
            reason = required_text(command.reason, ("reason",), max_length=500)
        except DomainError as exc:
            errors.capture(exc)
        try:
            key = required_text(command.idempotency_key, ("idempotency_key",), max_length=128)
        except DomainError as exc:
            errors.capture(exc)
        errors.raise_if_any()
        request_hash = fingerprint(command.customer_id, command.points, reason)
        reason, key = present(reason, "reason"), present(key, "idempotencyKey")
        return await retrying(lambda: self._once(command, reason, key, request_hash))

    async def _once(
        self, command: AdjustPoints, reason: str, key: str, request_hash: str
    ) -> AdjustResult:
        now = self.clock.now()
        async with self.uow_factory() as uow:
            # A merged customer's id adjusts its survivor (docs/merging.md).
            command = replace(command, customer_id=await survivor_id(uow, command.customer_id))
            customer = await uow.repo(CUSTOMERS).get(command.customer_id, for_update=True)
            check_not_merged([customer])
            if customer is None:
                raise DomainError(ErrorCode.NOT_FOUND, ("customer_id",), "No customer has this id.")
            remembered = await remembered_result(
                uow.repo(IDEMPOTENCY), "pointsAdjust", key, request_hash
            )
            if remembered is not None:
                return AdjustResult(customer, remembered["entryId"], replayed=True)
            account = await uow.repo(POINTS).load_account(command.customer_id)
            if command.points > 0:
                program = await uow.repo(PROGRAM).get()
                available_at, expires_at = lot_dates(now, 0, program.expiry_days)
                credited = account.credit(
                    EntryKind.ADJUST,
                    command.points,
                    now=now,
                    available_at=available_at,
                    expires_at=expires_at,
                    reason=reason,
                )
                # An adjustment is available at once (no pending days), so it has an entry.
                entry = present(credited, "adjustment entry")
            else:
                entry = account.debit(EntryKind.ADJUST, -command.points, now=now, reason=reason)
            entry.api_key_id = command.api_key_id
            entry.idempotency_key = key
            await uow.repo(POINTS).save_account(account, [entry])
            await uow.repo(IDEMPOTENCY).remember(
                "pointsAdjust", key, request_hash, {"entryId": entry.id}, now
            )
            await uow.repo(EVENTS).append(
                Event.of(
                    PointsAdjustedV1(
                        command.customer_id,
                        entry_id=entry.id,
                        points=command.points,
                        balance=entry.balance_after,
                        reason=reason,
                    ),
                    now,
                )
            )
            fresh = present(await uow.repo(CUSTOMERS).get(command.customer_id), "customer")
            await uow.commit()
        return AdjustResult(fresh, present(entry.id, "entry id"), replayed=False)
