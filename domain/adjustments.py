"""Manual point adjustments by an admin (`pointsAdjust`): goodwill credits and
corrections. Idempotent on the caller's key; a debit never makes the balance
negative."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from domain.clock import Clock
from domain.customers import Customer, CustomerRepository
from domain.errors import DomainError, ErrorCode, ErrorCollector
from domain.events import Event, EventRepository, EventType
from domain.fields import required_text
from domain.idempotency import (
    IdempotencyRepository,
    fingerprint,
    remembered_result,
    retrying,
)
from domain.points import MAX_ADJUSTMENT, EntryKind, LedgerEntry, PointsRepository, lot_dates
from domain.program import ProgramRepository


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


class AdjustUnitOfWork(Protocol):
    customers: CustomerRepository
    points: PointsRepository
    program: ProgramRepository
    events: EventRepository
    idempotency: IdempotencyRepository

    async def __aenter__(self) -> AdjustUnitOfWork: ...
    async def __aexit__(self, *exc: object) -> None: ...
    async def commit(self) -> None: ...


class AdjustmentService:
    def __init__(self, uow_factory, clock: Clock) -> None:  # noqa: ANN001
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
            key = required_text(
                command.idempotency_key, ("idempotency_key",), max_length=128
            )
        except DomainError as exc:
            errors.capture(exc)
        errors.raise_if_any()
        request_hash = fingerprint(command.customer_id, command.points, reason)
        return await retrying(lambda: self._once(command, reason, key, request_hash))

    async def _once(
        self, command: AdjustPoints, reason: str, key: str, request_hash: str
    ) -> AdjustResult:
        now = self.clock.now()
        async with self.uow_factory() as uow:
            customer = await uow.customers.get(command.customer_id, for_update=True)
            if customer is None:
                raise DomainError(
                    ErrorCode.NOT_FOUND, ("customer_id",), "No customer has this id."
                )
            remembered = await remembered_result(uow.idempotency, "pointsAdjust", key, request_hash)
            if remembered is not None:
                return AdjustResult(customer, remembered["entryId"], replayed=True)
            account = await uow.points.load_account(customer.id)
            if command.points > 0:
                program = await uow.program.get()
                available_at, expires_at = lot_dates(now, 0, program.expiry_days)
                entry: LedgerEntry = account.credit(
                    EntryKind.ADJUST,
                    command.points,
                    now=now,
                    available_at=available_at,
                    expires_at=expires_at,
                    reason=reason,
                )
            else:
                entry = account.debit(EntryKind.ADJUST, -command.points, now=now, reason=reason)
            entry.api_key_id = command.api_key_id
            entry.idempotency_key = key
            await uow.points.save_account(account, [entry])
            await uow.idempotency.remember("pointsAdjust", key, request_hash, {"entryId": entry.id})
            await uow.events.append(
                Event(
                    EventType.POINTS_ADJUSTED,
                    customer.id,
                    now,
                    {"points": command.points, "reason": reason, "balance": entry.balance_after},
                )
            )
            fresh = await uow.customers.get(customer.id)
            await uow.commit()
        return AdjustResult(fresh, entry.id, replayed=False)
