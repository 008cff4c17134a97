"""Importing customers and orders from a spreadsheet (docs/import.md), a chunk of
rows at a time: each row is cleaned (domain/import_cleaning.py), then the chunk is
written in one transaction, exactly as the API would write the same rows.

- Customers: a row whose externalId is new creates the customer as `customerUpsert`
  creates one (the same profile checks, `customer.created`); a known externalId (in
  the database or earlier in the file) is skipped as already there: the import never
  overwrites a profile.
- Orders: the chunk goes through `OrderService.record_many`, the set-based path of
  `ordersRecordBulk`, so statistics, points, lots and expiry, tiers, referral
  qualification and events are those of one `orderRecord` per row. An externalId
  already recorded (same customer and amount) replays and counts as skipped.
  `award_points=False` (`--no-points`) records each row as `orderRecord` with
  `awardPoints: false` does.

Each chunk commits on its own, so an import stopped anywhere is resumed by running
it again: the committed chunks are skipped row by row, the rest imported.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from domain.clock import Clock
from domain.customers import (
    CUSTOMERS,
    ERASED_PREFIX,
    MAX_CHANNEL,
    MAX_CITY,
    MAX_EXTERNAL_ID,
    MAX_NAME,
    Customer,
    CustomerRef,
    ProfileInput,
    apply_profile,
)
from domain.errors import DomainError, InvalidInput, present
from domain.event_payloads import CustomerCreatedV1
from domain.events import EVENTS, Event
from domain.idempotency import retrying
from domain.import_cleaning import (
    AMOUNT_CLEANED,
    EMAIL_LOWERED,
    GENDER_READ,
    PHONE_TO_E164,
    TEXT_TRIMMED,
    RowRefused,
    blank,
    clean_amount,
    clean_date,
    clean_datetime,
    clean_email,
    clean_gender,
    clean_phone,
    clean_text,
    refused,
)
from domain.orders import OrderService, RecordOrder, RecordResult
from domain.program import PROGRAM, ProgramSettings
from domain.unit_of_work import UnitOfWorkFactory

Row = tuple[int, dict[str, Any]]  # (line number in the file, field -> cell)


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str
    message: str


@dataclass
class ChunkResult:
    read: int = 0
    imported: int = 0
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)
    changes: Counter[str] = field(default_factory=Counter)


@dataclass
class ImportSummary:
    """What an import did, row by row: every row read is imported, skipped as
    already there, or refused (by reason); `changes` counts what cleaning changed."""

    read: int = 0
    imported: int = 0
    skipped: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    changes: Counter[str] = field(default_factory=Counter)

    def add(self, chunk: ChunkResult) -> None:
        self.read += chunk.read
        self.imported += chunk.imported
        self.skipped += chunk.skipped
        self.refused.update(error.reason for error in chunk.errors)
        self.changes.update(chunk.changes)

    @property
    def refused_total(self) -> int:
        return sum(self.refused.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "imported": self.imported,
            "skipped": self.skipped,
            "refused": dict(sorted(self.refused.items())),
            "changes": dict(sorted(self.changes.items())),
        }


def _reason(error: DomainError | InvalidInput) -> RowError:
    """A refusal of the order or profile rules as an error-file row (line set later)."""
    first = error.errors[0] if isinstance(error, InvalidInput) else error
    path = tuple(first.field or ())
    # The order rules name the customer ["customer", "external_id"]: the file's column.
    where = "customer_external_id" if path[:1] == ("customer",) else ".".join(path) or "row"
    message = (
        "; ".join(e.message for e in error.errors)
        if isinstance(error, InvalidInput)
        else (error.message)
    )
    return RowError(0, f"{where}: {first.code.value}", message)


class _Cleaner:
    """Cleans one row's cells, counting each change into `changes`."""

    def __init__(self, changes: Counter[str]) -> None:
        self.changes = changes

    def note(self, value: Any, changed: bool | str | None, change: str = "") -> Any:
        """`changed`: whether cleaning changed the cell (counted as `change`), or the
        name of the change itself (None: nothing changed)."""
        if isinstance(changed, str):
            self.changes[changed] += 1
        elif changed:
            self.changes[change] += 1
        return value

    def text(self, cells: dict[str, Any], name: str, max_length: int) -> str | None:
        value, changed = clean_text(cells.get(name), name, max_length=max_length)
        if changed:
            self.changes[TEXT_TRIMMED] += 1
        return value

    def required(self, cells: dict[str, Any], name: str, max_length: int) -> str:
        value = self.text(cells, name, max_length)
        if value is None:
            raise refused(name, "missing", f"{name} is empty.")
        return value


class ImportService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        *,
        phone_region: str | None,
    ) -> None:
        self.uow_factory = uow_factory
        self.clock = clock
        self.phone_region = phone_region
        self.orders = OrderService(uow_factory, clock, phone_region=phone_region)

    async def program(self) -> ProgramSettings:
        async with self.uow_factory() as uow:
            return await uow.repo(PROGRAM).get()

    # ---- customers -----------------------------------------------------------------

    async def customers(
        self, rows: Sequence[Row], program: ProgramSettings, seen: set[str]
    ) -> ChunkResult:
        """Creates the chunk's new customers; `seen`: the externalIds of earlier
        chunks of this file (a repeat is skipped), updated here."""
        result = ChunkResult(read=len(rows))
        now = self.clock.now()
        prepared: list[tuple[int, Customer]] = []
        for line, cells in rows:
            cleaner = _Cleaner(Counter())
            try:
                customer = self._customer(cells, cleaner, program, now)
            except RowRefused as exc:
                result.errors.append(RowError(line, exc.reason, exc.message))
                continue
            except (DomainError, InvalidInput) as exc:
                result.errors.append(replace_line(_reason(exc), line))
                continue
            result.changes.update(cleaner.changes)
            if customer.external_id in seen:
                result.skipped += 1
                continue
            seen.add(customer.external_id)
            prepared.append((line, customer))
        created = await retrying(lambda: self._add_customers([c for _, c in prepared], now))
        result.imported += created
        result.skipped += len(prepared) - created
        return result

    def _customer(
        self, cells: dict[str, Any], cleaner: _Cleaner, program: ProgramSettings, now: datetime
    ) -> Customer:
        external_id = cleaner.required(cells, "external_id", MAX_EXTERNAL_ID)
        if external_id.startswith(ERASED_PREFIX):
            raise refused(
                "external_id",
                "reserved prefix",
                f"externalId may not start with {ERASED_PREFIX!r}.",
            )
        zone = program.zone
        profile = ProfileInput(
            email=cleaner.note(*clean_email(cells.get("email")), EMAIL_LOWERED),
            phone=cleaner.note(*clean_phone(cells.get("phone"), self.phone_region), PHONE_TO_E164),
            name=cleaner.text(cells, "name", MAX_NAME),
            birthday=cleaner.note(*clean_date(cells.get("birthday"), zone)),
            gender=cleaner.note(*clean_gender(cells.get("gender")), GENDER_READ),
            city=cleaner.text(cells, "city", MAX_CITY),
            acquisition_channel=cleaner.text(cells, "acquisition_channel", MAX_CHANNEL),
        )
        return apply_profile(
            Customer(id=None, external_id=external_id, created_at=now, updated_at=now),
            profile,
            today=now.date(),
            phone_region=self.phone_region,
        )

    async def _add_customers(self, customers: Sequence[Customer], now: datetime) -> int:
        """Adds those not there yet, with their `customer.created` events, in one
        transaction; returns how many were added."""
        if not customers:
            return 0
        async with self.uow_factory() as uow:
            there = await uow.repo(CUSTOMERS).find_many([], [c.external_id for c in customers])
            known = {c.external_id for c in there}
            fresh = [
                replace(c, id=None)  # an attempt that lost a race numbered it
                for c in customers
                if c.external_id not in known
            ]
            await uow.repo(CUSTOMERS).add_many(fresh)
            await uow.repo(EVENTS).append_many(
                [
                    Event.of(CustomerCreatedV1(present(c.id, "customer id"), c.external_id), now)
                    for c in fresh
                ]
            )
            await uow.commit()
            return len(fresh)

    # ---- orders --------------------------------------------------------------------

    async def orders_chunk(
        self, rows: Sequence[Row], program: ProgramSettings, *, award_points: bool
    ) -> ChunkResult:
        """Records the chunk's orders through `record_many` (one transaction)."""
        result = ChunkResult(read=len(rows))
        commands: list[tuple[int, RecordOrder]] = []
        for line, cells in rows:
            cleaner = _Cleaner(Counter())
            try:
                command = self._order(cells, cleaner, program, award_points)
            except RowRefused as exc:
                result.errors.append(RowError(line, exc.reason, exc.message))
                continue
            result.changes.update(cleaner.changes)
            commands.append((line, command))
        outcomes = await self.orders.record_many([c for _, c in commands])
        for (line, _), outcome in zip(commands, outcomes, strict=True):
            if isinstance(outcome, RecordResult):
                if outcome.replayed:
                    result.skipped += 1
                else:
                    result.imported += 1
            else:
                result.errors.append(replace_line(_reason(outcome), line))
        return result

    def _order(
        self,
        cells: dict[str, Any],
        cleaner: _Cleaner,
        program: ProgramSettings,
        award_points: bool,
    ) -> RecordOrder:
        external_id = cleaner.required(cells, "external_id", MAX_EXTERNAL_ID)
        customer = cleaner.required(cells, "customer_external_id", MAX_EXTERNAL_ID)
        amount = cleaner.note(*clean_amount(cells.get("amount")), AMOUNT_CLEANED)
        placed_at = cleaner.note(*clean_datetime(cells.get("placed_at"), program.zone))
        currency = cells.get("currency")
        return RecordOrder(
            external_id=external_id,
            customer=CustomerRef(external_id=customer),
            amount=amount,
            currency=program.currency if blank(currency) else str(currency),
            placed_at=placed_at,
            channel=cleaner.text(cells, "channel", MAX_CHANNEL),
            award_points=award_points,
        )


def replace_line(error: RowError, line: int) -> RowError:
    return RowError(line, error.reason, error.message)
