"""Importing customers and orders from a spreadsheet (docs/import.md), a chunk of
rows at a time: each row is cleaned (domain/import_cleaning.py), then the chunk is
written in one transaction, exactly as the API would write the same rows.

- Customers: a row whose externalId is new creates the customer as `customerUpsert`
  creates one (the same profile checks, `customer.created`, the program's
  `uniqueContactKeys`), with the identities of its identity columns attached in the
  same transaction; a known externalId (in the database or earlier in the file) is
  skipped as already there: the import never overwrites a profile, but attaches the
  identities the customer does not hold yet. An identity another customer holds, or
  that the file gives to another customer, refuses the row (IDENTITY_TAKEN).
- Orders: the chunk goes through `OrderService.record_many`, the set-based path of
  `ordersRecordBulk`, so statistics, points, lots and expiry, tiers, referral
  qualification and events are those of one `orderRecord` per row. An externalId
  already recorded (same customer and amount) replays and counts as skipped.
  `award_points=False` (`--no-points`) records each row as `orderRecord` with
  `awardPoints: false` does. A row names its customer in one column: the externalId,
  an identity, or the phone or e-mail as a lookup key (`CustomerRefInput`).

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
    MAX_IDENTITIES,
    MAX_NAME,
    Customer,
    CustomerRef,
    ProfileInput,
    apply_profile,
)
from domain.errors import DomainError, ErrorCode, InvalidInput, present
from domain.event_payloads import CustomerCreatedV1
from domain.events import EVENTS, Event
from domain.idempotency import retrying
from domain.identities import (
    IDENTITIES,
    MAX_PER_CUSTOMER,
    Identity,
    IdentityInput,
    IdentityType,
    describe,
    identity_of,
    unique,
)
from domain.import_cleaning import (
    AMOUNT_CLEANED,
    CUSTOMER_PREFIX,
    EMAIL_LOWERED,
    GENDER_READ,
    IDENTITY_FIELDS,
    ORDER_CUSTOMER_FIELDS,
    PHONE_TO_E164,
    TEXT_TRIMMED,
    WECHAT_APP,
    RowRefused,
    blank,
    cell_text,
    clean_amount,
    clean_date,
    clean_datetime,
    clean_email,
    clean_gender,
    clean_phone,
    clean_text,
    custom_kind,
    refused,
)
from domain.orders import OrderService, RecordOrder, RecordResult
from domain.program import PROGRAM, ProgramSettings
from domain.unit_of_work import UnitOfWork, UnitOfWorkFactory

Row = tuple[int, dict[str, Any]]  # (line number in the file, field -> cell)

# What became of a customer row that was not refused.
CREATED, ATTACHED, SKIPPED = "created", "attached", "skipped"


@dataclass(frozen=True)
class _CustomerRow:
    """A cleaned customer row: the customer it creates if new, and its identities
    with the column each came from."""

    line: int
    customer: Customer
    identities: list[tuple[str, Identity]]


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


def _reason(
    error: DomainError | InvalidInput, customer_column: str = "customer_external_id"
) -> RowError:
    """A refusal of the order, profile or identity rules as an error-file row (line
    set later); `customer_column`: the column the row named its customer in."""
    first = error.errors[0] if isinstance(error, InvalidInput) else error
    path = tuple(first.field or ())
    # The order rules name the customer ["customer", "external_id"] (or "identity",
    # "phone", "email"): the file's column; an openid's namespace is its app id.
    if path[:1] == ("customer",):
        where = WECHAT_APP if path[-1:] == ("namespace",) else customer_column
    else:
        where = ".".join(path) or "row"
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
        """Creates the chunk's new customers with their identities and attaches new
        identities to those already there; `seen`: the externalIds created by earlier
        chunks of this file (a repeat without identities is skipped at once),
        updated here."""
        result = ChunkResult(read=len(rows))
        now = self.clock.now()
        prepared: list[_CustomerRow] = []
        for line, cells in rows:
            cleaner = _Cleaner(Counter())
            try:
                customer = self._customer(cells, cleaner, program, now)
                identities = _identities(cells, cleaner)
            except RowRefused as exc:
                result.errors.append(RowError(line, exc.reason, exc.message))
                continue
            except (DomainError, InvalidInput) as exc:
                result.errors.append(replace_line(_reason(exc), line))
                continue
            result.changes.update(cleaner.changes)
            if customer.external_id in seen and not identities:
                result.skipped += 1
                continue
            prepared.append(_CustomerRow(line, customer, identities))
        outcomes = await retrying(
            lambda: self._add_customers(prepared, now, unique_contacts=program.unique_contact_keys)
        )
        for row, outcome in zip(prepared, outcomes, strict=True):
            if isinstance(outcome, RowError):
                result.errors.append(outcome)
            elif outcome == SKIPPED:
                result.skipped += 1
            else:
                result.imported += 1
                if outcome == CREATED:
                    seen.add(row.customer.external_id)
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

    async def _add_customers(
        self, rows: Sequence[_CustomerRow], now: datetime, *, unique_contacts: bool
    ) -> list[str | RowError]:
        """One transaction for the chunk, a fixed number of statements whatever its
        size: the customers already there, the holders of every identity of the
        chunk, the identity counts of the known customers that get new ones and, with
        `unique_contacts`, the live customers having the new rows' phones and
        e-mails (their keys locked first); then, row by row in file order, the
        decision; then one insert of the new customers, one of the identities and
        one of the events. Returns CREATED, ATTACHED (a known customer got new
        identities), SKIPPED or the refusal, per row."""
        if not rows:
            return []
        async with self.uow_factory() as uow:
            customers = uow.repo(CUSTOMERS)
            there = {
                c.external_id: c
                for c in await customers.find_many([], [r.customer.external_id for r in rows])
            }
            # A merged customer's externalId names its survivor (docs/merging.md).
            owner = {ext: c.merged_into_id or present(c.id, "id") for ext, c in there.items()}
            holders = await uow.repo(IDENTITIES).holders(
                unique([i for r in rows for _, i in r.identities])
            )
            held: Counter[str] = Counter()
            known_with_ids = {
                owner[r.customer.external_id]
                for r in rows
                if r.identities and r.customer.external_id in owner
            }
            if known_with_ids:
                counts = await uow.repo(IDENTITIES).counts(sorted(known_with_ids))
                for ext, customer_id in owner.items():
                    held[ext] = counts.get(customer_id, 0)
            new_rows = [r for r in rows if r.customer.external_id not in there]
            contacts = await self._contacts_taken(uow, new_rows) if unique_contacts else {}
            outcomes: list[str | RowError] = []
            fresh: dict[str, Customer] = {}
            claimed: dict[Identity, tuple[str, int]] = {}  # identity -> (externalId, line)
            attach: list[tuple[str, Identity]] = []
            for row in rows:
                ext = row.customer.external_id
                new = ext not in there and ext not in fresh
                try:
                    added = _new_identities(row, owner.get(ext), holders, claimed)
                    if len(added) + held[ext] > MAX_PER_CUSTOMER:
                        raise refused(
                            "identities",
                            ErrorCode.TOO_MANY.value,
                            f"A customer holds at most {MAX_PER_CUSTOMER} identities.",
                        )
                    if new and unique_contacts:
                        _refuse_taken_contacts(row.customer, contacts)
                except RowRefused as exc:
                    outcomes.append(RowError(row.line, exc.reason, exc.message))
                    continue
                held[ext] += len(added)
                claimed.update((identity, (ext, row.line)) for identity in added)
                attach.extend((ext, identity) for identity in added)
                if new:
                    fresh[ext] = replace(row.customer, id=None)  # a lost race numbered it
                    for way in ("phone", "email"):
                        value = getattr(row.customer, way)
                        if value is not None:
                            contacts.setdefault((way, value), f"line {row.line} of this file")
                    outcomes.append(CREATED)
                else:
                    outcomes.append(ATTACHED if added else SKIPPED)
            await customers.add_many(list(fresh.values()))
            ids = {**owner, **{ext: present(c.id, "id") for ext, c in fresh.items()}}
            await uow.repo(IDENTITIES).add_rows([(ids[ext], i) for ext, i in attach], now)
            await uow.repo(EVENTS).append_many(
                [
                    Event.of(CustomerCreatedV1(present(c.id, "customer id"), c.external_id), now)
                    for c in fresh.values()
                ]
            )
            await uow.commit()
            return outcomes

    @staticmethod
    async def _contacts_taken(
        uow: UnitOfWork, rows: Sequence[_CustomerRow]
    ) -> dict[tuple[str, str], str]:
        """Who (not erased, not merged) already has each phone and e-mail of these
        new rows, as ("phone", value) -> a description, their keys locked until the
        transaction ends (as `customerUpsert` locks them)."""
        phones = sorted({r.customer.phone for r in rows if r.customer.phone is not None})
        emails = sorted({r.customer.email for r in rows if r.customer.email is not None})
        if not phones and not emails:
            return {}
        customers = uow.repo(CUSTOMERS)
        await customers.lock_contacts(
            [f"phone:{p}" for p in phones] + [f"email:{e}" for e in emails]
        )
        taken: dict[tuple[str, str], str] = {}
        for customer in await customers.live_by_contacts(phones, emails):
            for way in ("phone", "email"):
                value = getattr(customer, way)
                if value is not None:
                    taken.setdefault((way, value), f"customer {customer.external_id!r}")
        return taken

    # ---- orders --------------------------------------------------------------------

    async def orders_chunk(
        self, rows: Sequence[Row], program: ProgramSettings, *, award_points: bool
    ) -> ChunkResult:
        """Records the chunk's orders through `record_many` (one transaction)."""
        result = ChunkResult(read=len(rows))
        commands: list[tuple[int, RecordOrder, str]] = []
        for line, cells in rows:
            cleaner = _Cleaner(Counter())
            try:
                column, customer = _order_customer(cells, cleaner, self.phone_region)
                command = self._order(cells, customer, cleaner, program, award_points)
            except RowRefused as exc:
                result.errors.append(RowError(line, exc.reason, exc.message))
                continue
            result.changes.update(cleaner.changes)
            commands.append((line, command, column))
        outcomes = await self.orders.record_many([c for _, c, _ in commands])
        for (line, _, column), outcome in zip(commands, outcomes, strict=True):
            if isinstance(outcome, RecordResult):
                if outcome.replayed:
                    result.skipped += 1
                else:
                    result.imported += 1
            else:
                result.errors.append(replace_line(_reason(outcome, column), line))
        return result

    def _order(
        self,
        cells: dict[str, Any],
        customer: CustomerRef,
        cleaner: _Cleaner,
        program: ProgramSettings,
        award_points: bool,
    ) -> RecordOrder:
        external_id = cleaner.required(cells, "external_id", MAX_EXTERNAL_ID)
        amount = cleaner.note(*clean_amount(cells.get("amount")), AMOUNT_CLEANED)
        placed_at = cleaner.note(*clean_datetime(cells.get("placed_at"), program.zone))
        currency = cells.get("currency")
        return RecordOrder(
            external_id=external_id,
            customer=customer,
            amount=amount,
            currency=program.currency if blank(currency) else str(currency),
            placed_at=placed_at,
            channel=cleaner.text(cells, "channel", MAX_CHANNEL),
            award_points=award_points,
        )


def replace_line(error: RowError, line: int) -> RowError:
    return RowError(line, error.reason, error.message)


# ---- identities and customer references --------------------------------------------


def _identity_in(field: str, cells: dict[str, Any], kind: str) -> IdentityInput | None:
    """The identity a column holds (`field`: its field in a file of `kind`), None
    for a column that holds none or an empty cell. Checked later by `identity_of`."""
    name = field.removeprefix(CUSTOMER_PREFIX) if kind == "orders" else field
    identity_type = IDENTITY_FIELDS.get(name)
    namespace: str | None = None
    if identity_type is None:
        namespace = custom_kind(field, kind)
        if namespace is None:
            return None
        identity_type = IdentityType.CUSTOM
    elif identity_type is IdentityType.WECHAT_OPENID:
        app = cells.get(WECHAT_APP)
        namespace = None if blank(app) else cell_text(app)
    value = cells.get(field)
    return None if blank(value) else IdentityInput(identity_type, cell_text(value), namespace)


def _identities(cells: dict[str, Any], cleaner: _Cleaner) -> list[tuple[str, Identity]]:
    """A customer row's identities with their columns, checked by the rules of
    `customerUpsert` (domain/identities.py): at most MAX_IDENTITIES, each once."""
    found: dict[Identity, str] = {}
    for column in cells:
        given = _identity_in(column, cells, "customers")
        if given is None:
            continue
        try:
            identity = identity_of(given, (column,))
        except (DomainError, InvalidInput) as exc:
            first = exc.errors[0] if isinstance(exc, InvalidInput) else exc
            where = WECHAT_APP if tuple(first.field or ())[-1:] == ("namespace",) else column
            raise refused(where, first.code.value, f"{column}: {first.message}") from None
        if identity.value != given.value:
            cleaner.changes[TEXT_TRIMMED] += 1
        found.setdefault(identity, column)
    if len(found) > MAX_IDENTITIES:
        raise refused(
            "identities",
            ErrorCode.TOO_MANY.value,
            f"A row gives at most {MAX_IDENTITIES} identities.",
        )
    return [(column, identity) for identity, column in found.items()]


def _new_identities(
    row: _CustomerRow,
    owner: int | None,
    holders: dict[Identity, int],
    claimed: dict[Identity, tuple[str, int]],
) -> list[Identity]:
    """The row's identities its customer (`owner`: its id, None when new) does not
    hold yet; IDENTITY_TAKEN when another customer holds one or an earlier row of
    the file gave it to another customer."""
    added = []
    for column, identity in row.identities:
        holder = holders.get(identity)
        earlier = claimed.get(identity)
        if holder is not None and holder != owner:
            raise refused(
                column,
                ErrorCode.IDENTITY_TAKEN.value,
                f"Another customer holds {describe(identity)}; detach it there first.",
            )
        if earlier is not None and earlier[0] != row.customer.external_id:
            raise refused(
                column,
                ErrorCode.IDENTITY_TAKEN.value,
                f"Line {earlier[1]} of this file gives {describe(identity)} to {earlier[0]!r}.",
            )
        if holder is None and earlier is None:
            added.append(identity)
    return added


def _refuse_taken_contacts(customer: Customer, taken: dict[tuple[str, str], str]) -> None:
    """With `uniqueContactKeys`: a new customer's phone or e-mail that a live
    customer or an earlier row of the file has is TAKEN (as `customerUpsert`)."""
    for way in ("phone", "email"):
        value = getattr(customer, way)
        who = None if value is None else taken.get((way, value))
        if who is not None:
            raise refused(way, ErrorCode.TAKEN.value, f"{who} has this {way}.")


def _order_customer(
    cells: dict[str, Any], cleaner: _Cleaner, phone_region: str | None
) -> tuple[str, CustomerRef]:
    """The column an order row names its customer in and the reference it makes:
    the externalId, an identity, or the phone or e-mail as a lookup key — exactly
    one per row."""
    columns = [
        f for f in cells if f in ORDER_CUSTOMER_FIELDS or custom_kind(f, "orders") is not None
    ]
    filled = [f for f in columns if not blank(cells.get(f))]
    if not filled:
        where = columns[0] if len(columns) == 1 else "customer"
        raise refused(where, "missing", f"Name the customer in one of {', '.join(columns)}.")
    if len(filled) > 1:
        raise refused(
            "customer",
            "more than one way",
            f"The row names its customer in {' and '.join(filled)}; fill only one.",
        )
    (column,) = filled
    if column == "customer_external_id":
        return column, CustomerRef(external_id=cleaner.required(cells, column, MAX_EXTERNAL_ID))
    try:
        if column == "customer_phone":
            phone = cleaner.note(*clean_phone(cells.get(column), phone_region), PHONE_TO_E164)
            return column, CustomerRef(profile=ProfileInput(phone=phone))
        if column == "customer_email":
            email = cleaner.note(*clean_email(cells.get(column)), EMAIL_LOWERED)
            return column, CustomerRef(profile=ProfileInput(email=email))
    except RowRefused as exc:
        raise refused(column, exc.reason.split(": ", 1)[1], exc.message) from None
    identity = present(_identity_in(column, cells, "orders"), "identity")
    if identity.value is not None and identity.value != identity.value.strip():
        cleaner.changes[TEXT_TRIMMED] += 1
    return column, CustomerRef(identity=identity)
