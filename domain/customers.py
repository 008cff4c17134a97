"""Customer profiles: what a valid profile is, and the actions that change one.

Email is lower-cased; a phone is stored in E.164 when it can be parsed (with the
program's default region for numbers written without a country code) and as the
trimmed digits otherwise, so the same person is found however the number was typed.
Erasure (PIPL/GDPR) replaces personal data but keeps the record and its ledger,
which accounting still needs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from domain.clock import Clock
from domain.errors import (
    ConcurrentWrite,
    DomainError,
    ErrorCode,
    ErrorCollector,
    InvalidInput,
    present,
)
from domain.event_payloads import CustomerCreatedV1
from domain.events import EVENTS, Event
from domain.fields import bounded_list, optional_text, required_text
from domain.idempotency import retrying
from domain.identities import (
    IDENTITIES,
    MAX_PER_CUSTOMER,
    Identity,
    IdentityInput,
    describe,
    identity_of,
    to_add,
    unique,
)
from domain.messaging.consent import CONSENTS
from domain.program import PROGRAM
from domain.unit_of_work import Port, UnitOfWork, UnitOfWorkFactory

MAX_EXTERNAL_ID = 128
MAX_NAME = 200
MAX_CITY = 100
MAX_CHANNEL = 64
MAX_PHONE_INPUT = 32
MAX_ATTRIBUTES = 50
MAX_ATTRIBUTE_KEY = 64
MAX_ATTRIBUTE_STRING = 500
MAX_ATTRIBUTES_BYTES = 4096
MAX_IDENTITIES = 20
# Erasure gives a customer the external id "erased:<id>"; storefronts may not use the
# prefix, or an upsert could revive an erased record or collide with a later erasure.
ERASED_PREFIX = "erased:"


class Gender(StrEnum):
    FEMALE = "FEMALE"
    MALE = "MALE"
    OTHER = "OTHER"
    UNDISCLOSED = "UNDISCLOSED"


class _Unset:
    """Marks a profile field the caller did not send (as opposed to sending null)."""

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Any = _Unset()

AttributeValue = str | int | float | bool


@dataclass
class Customer:
    id: int | None
    external_id: str
    email: str | None = None
    phone: str | None = None
    name: str | None = None
    birthday: date | None = None
    gender: Gender | None = None
    city: str | None = None
    acquisition_channel: str | None = None
    attributes: dict[str, AttributeValue] = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    erased_at: datetime | None = None
    # The survivor this customer was merged into (docs/merging.md); written only by
    # the merge, and every lookup by this customer's id or externalId finds the survivor.
    merged_into_id: int | None = field(default=None, compare=False)
    # Derived from orders and the ledger; written only by those services.
    stats: CustomerStats | None = field(default=None, compare=False)


@dataclass(frozen=True)
class CustomerStats:
    """Order statistics (counted orders only) and points totals, kept current in the
    same transaction as the order, refund or ledger entry that changes them."""

    orders_count: int = 0
    total_spent: Decimal = Decimal(0)
    first_order_at: datetime | None = None
    last_order_at: datetime | None = None
    points_balance: int = 0
    points_debt: int = 0
    lifetime_earned: int = 0
    tier_id: int | None = None
    tier_since: datetime | None = None

    @property
    def average_order_value(self) -> Decimal | None:
        if not self.orders_count:
            return None
        return (self.total_spent / self.orders_count).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class ProfileInput:
    """Profile fields as sent. UNSET leaves a field alone; None clears it."""

    email: Any = UNSET
    phone: Any = UNSET
    name: Any = UNSET
    birthday: Any = UNSET
    gender: Any = UNSET
    city: Any = UNSET
    acquisition_channel: Any = UNSET
    attributes: Any = UNSET


@dataclass(frozen=True)
class CustomerRef:
    """A customer named by another command (an order, a referral), in exactly one way:
    our id; the storefront's externalId (with profile fields to create them on first
    sight); an identity another system knows them by; or, when none of those is
    given, the phone or the e-mail of the profile fields as a lookup key (found when
    exactly one customer not erased has it)."""

    id: int | None = None
    external_id: str | None = None
    profile: ProfileInput | None = None
    identity: IdentityInput | None = None


@dataclass(frozen=True)
class UpsertCustomer:
    external_id: str
    profile: ProfileInput
    identities: Sequence[IdentityInput] = ()


@dataclass(frozen=True)
class UpdateCustomer:
    customer_id: int
    profile: ProfileInput


@dataclass(frozen=True)
class UpsertResult:
    customer: Customer
    created: bool


class CustomerRepository(Protocol):
    async def get(self, customer_id: int, *, for_update: bool = False) -> Customer | None: ...
    async def hold(self, customer_id: int) -> Customer | None:
        """Locks the customer against a merge or an erasure (which take the full row
        lock) but not against rows that merely reference it, whose foreign-key check
        may go on meanwhile (PostgreSQL's FOR NO KEY UPDATE). For a write that adds
        a row of the customer under another lock, e.g. a coupon under its template's,
        beside a bulk insert that holds that lock and checks the customer's key."""
        ...

    async def get_by_external_id(
        self, external_id: str, *, for_update: bool = False
    ) -> Customer | None: ...
    async def add(self, customer: Customer) -> Customer:
        """Adds the customer; a taken externalId fails the transaction as a unique
        violation (`ConcurrentWrite`), which the service retries."""
        ...

    async def save(self, customer: Customer) -> None: ...
    async def existing_ids(self, customer_ids: Sequence[int]) -> set[int]: ...
    async def find_many(
        self, customer_ids: Sequence[int], external_ids: Sequence[str]
    ) -> list[Customer]:
        """Customers with any of these ids or externalIds, not locked."""
        ...

    async def survivors(
        self, customer_ids: Sequence[int], external_ids: Sequence[str]
    ) -> dict[int | str, int]:
        """For each of these ids or externalIds that names a merged customer, the
        survivor's id (`customerMerge`); keys of live customers are left out."""
        ...

    async def merged_into(self, survivor_id: int) -> list[Customer]:
        """The customers merged into this one (merges keep it one hop), locked: their
        records keep their personal data until the survivor is erased."""
        ...

    async def lock_many(self, customer_ids: Sequence[int]) -> dict[int, Customer]:
        """Locks these customers in one statement, in id order (the order every write
        that locks several customers takes), and returns them as locked."""
        ...

    async def add_many(self, customers: Sequence[Customer]) -> None:
        """Adds the customers in one round (setting their ids); a taken externalId
        fails the transaction as `add` does."""
        ...

    async def live_by_contacts(
        self, phones: Sequence[str], emails: Sequence[str]
    ) -> list[Customer]:
        """The customers not erased with any of these (normalized) phones or e-mails,
        in one statement, not locked."""
        ...

    async def lock_contacts(self, keys: Sequence[str]) -> None:
        """Holds a lock on each contact key (``phone:…``, ``email:…``) until the
        transaction ends, so two writers giving two customers one phone queue and
        the second sees the first (PostgreSQL; SQLite serializes writers anyway)."""
        ...


CUSTOMERS: Port[CustomerRepository] = Port("customers")


def normalize_email(value: str, field: Sequence[str]) -> str:
    try:
        result = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise DomainError(ErrorCode.INVALID, field, f"email is not valid: {exc}") from None
    return result.normalized.lower()


def normalize_phone(value: str, field: Sequence[str], *, region: str | None) -> str:
    text = value.strip()
    if len(text) > MAX_PHONE_INPUT:
        raise DomainError(ErrorCode.TOO_LONG, field, f"phone is longer than {MAX_PHONE_INPUT}.")
    digits = sum(ch.isdigit() for ch in text)
    if digits < 5 or any(not (ch.isdigit() or ch in "+-() .") for ch in text):
        raise DomainError(ErrorCode.INVALID, field, "phone is not a phone number.")
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return "".join(ch for ch in text if ch.isdigit() or ch == "+")
    if phonenumbers.is_possible_number(parsed):
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return "".join(ch for ch in text if ch.isdigit() or ch == "+")


def check_attributes(value: Any, field: Sequence[str]) -> dict[str, AttributeValue]:
    if not isinstance(value, dict):
        raise DomainError(ErrorCode.INVALID, field, "attributes must be a JSON object.")
    if len(value) > MAX_ATTRIBUTES:
        raise DomainError(
            ErrorCode.TOO_MANY, field, f"attributes has more than {MAX_ATTRIBUTES} keys."
        )
    for key, item in value.items():
        if not isinstance(key, str) or not key.strip() or len(key) > MAX_ATTRIBUTE_KEY:
            raise DomainError(
                ErrorCode.INVALID,
                field,
                f"attribute keys must be 1 to {MAX_ATTRIBUTE_KEY} characters.",
            )
        if isinstance(item, str):
            if len(item) > MAX_ATTRIBUTE_STRING:
                raise DomainError(
                    ErrorCode.TOO_LONG,
                    (*field, key),
                    f"attribute {key!r} is longer than {MAX_ATTRIBUTE_STRING} characters.",
                )
        elif not isinstance(item, bool | int | float) or item != item:  # NaN is not data
            raise DomainError(
                ErrorCode.INVALID,
                (*field, key),
                f"attribute {key!r} must be a string, a number or a boolean.",
            )
    if len(json.dumps(value, ensure_ascii=False).encode()) > MAX_ATTRIBUTES_BYTES:
        raise DomainError(
            ErrorCode.TOO_LONG, field, f"attributes are larger than {MAX_ATTRIBUTES_BYTES} bytes."
        )
    return dict(value)


def apply_profile(
    customer: Customer,
    profile: ProfileInput,
    *,
    today: date,
    phone_region: str | None,
    path: Sequence[str] = (),
) -> Customer:
    """Returns the customer with the sent fields applied, or raises every problem found."""
    errors = ErrorCollector()
    changes: dict[str, Any] = {}

    def text(name: str, max_length: int) -> None:
        value = getattr(profile, name)
        if value is UNSET:
            return
        try:
            changes[name] = optional_text(value, (*path, name), max_length=max_length)
        except DomainError as exc:
            errors.capture(exc)

    text("name", MAX_NAME)
    text("city", MAX_CITY)
    text("acquisition_channel", MAX_CHANNEL)

    if profile.email is not UNSET:
        try:
            email = optional_text(profile.email, (*path, "email"), max_length=254)
            changes["email"] = email and normalize_email(email, (*path, "email"))
        except DomainError as exc:
            errors.capture(exc)
    if profile.phone is not UNSET:
        try:
            phone = optional_text(profile.phone, (*path, "phone"), max_length=MAX_PHONE_INPUT)
            changes["phone"] = phone and normalize_phone(
                phone, (*path, "phone"), region=phone_region
            )
        except DomainError as exc:
            errors.capture(exc)
    if profile.birthday is not UNSET:
        if profile.birthday is not None and profile.birthday > today:
            errors.add(ErrorCode.INVALID, (*path, "birthday"), "birthday is in the future.")
        elif profile.birthday is not None and profile.birthday.year < 1900:
            errors.add(ErrorCode.INVALID, (*path, "birthday"), "birthday is before 1900.")
        else:
            changes["birthday"] = profile.birthday
    if profile.gender is not UNSET:
        changes["gender"] = profile.gender
    if profile.attributes is not UNSET:
        try:
            changes["attributes"] = (
                {}
                if profile.attributes is None
                else check_attributes(profile.attributes, (*path, "attributes"))
            )
        except DomainError as exc:
            errors.capture(exc)

    errors.raise_if_any()
    return replace(customer, **changes)


def erased_copy(customer: Customer, at: datetime) -> Customer:
    """The record kept after erasure: no personal data, a new external id."""
    return replace(
        customer,
        external_id=f"{ERASED_PREFIX}{customer.id}",
        email=None,
        phone=None,
        name=None,
        birthday=None,
        gender=None,
        city=None,
        attributes={},
        erased_at=at,
        updated_at=at,
    )


# What a customer reference resolves to: our id, or an externalId (a customer that
# may not exist yet and may be created from the profile fields).
CustomerKey = int | str
KEY_WAYS = ("id", "external_id", "identity")


def ref_way(ref: CustomerRef, path: tuple[str, ...]) -> str:
    """How `ref` names its customer: "id", "external_id", "identity", "phone" or
    "email". Exactly one way: several is INVALID naming the second; none is REQUIRED
    naming the reference."""
    given = [way for way in KEY_WAYS if getattr(ref, way) is not None]
    if len(given) > 1:
        raise DomainError(
            ErrorCode.INVALID,
            (*path, given[1]),
            "Name the customer in exactly one way: id, externalId, identity, or phone or "
            "email alone.",
        )
    if given:
        return given[0]
    profile = ref.profile
    contacts = [
        way
        for way in ("phone", "email")
        if profile is not None and getattr(profile, way) not in (UNSET, None)
    ]
    if len(contacts) > 1:
        raise DomainError(
            ErrorCode.INVALID,
            (*path, "email"),
            "To find a customer by a contact, give the phone or the email, not both.",
        )
    if contacts:
        return contacts[0]
    raise DomainError(
        ErrorCode.REQUIRED, path, "Name the customer by id, externalId, identity, phone or email."
    )


def ref_as_sent(ref: CustomerRef, way: str | None) -> tuple[object, ...]:
    """What an idempotency fingerprint holds of a reference named `way`: by id or
    externalId the pair it held before identities existed (so keys stored then still
    replay); otherwise the way and its value as sent."""
    if way == "identity":
        return (way, repr(ref.identity))
    if way in ("phone", "email") and ref.profile is not None:
        return (way, getattr(ref.profile, way))
    return (ref.id, ref.external_id)


@dataclass(frozen=True)
class _Lookup:
    """A reference that needs a query to become a key: by identity or by contact."""

    way: str
    identity: Identity | None = None
    contact: str | None = None


def _lookup_of(
    ref: CustomerRef, path: tuple[str, ...], phone_region: str | None
) -> CustomerKey | _Lookup:
    way = ref_way(ref, path)
    if way == "id":
        return present(ref.id, "customer id")
    if way == "external_id":
        return required_text(ref.external_id, (*path, "external_id"), max_length=MAX_EXTERNAL_ID)
    if way == "identity":
        return _Lookup(way, identity=identity_of(present(ref.identity, "identity"), (*path, way)))
    profile = present(ref.profile, "profile")
    if way == "phone":
        phone = required_text(profile.phone, (*path, way), max_length=MAX_PHONE_INPUT)
        return _Lookup(way, contact=normalize_phone(phone, (*path, way), region=phone_region))
    email = required_text(profile.email, (*path, way), max_length=254)
    return _Lookup(way, contact=normalize_email(email, (*path, way)))


async def ref_keys(
    uow: UnitOfWork,
    refs: Sequence[CustomerRef],
    path: tuple[str, ...],
    *,
    phone_region: str | None,
) -> list[CustomerKey | DomainError | InvalidInput]:
    """The key each reference names, or why it names none, in at most two statements
    whatever the number of references: one for every identity, one for every phone
    and e-mail (none when no reference needs it). An identity nobody holds, or a
    contact no live customer has, is NOT_FOUND; a contact two live customers share
    is AMBIGUOUS_CUSTOMER (naming the field, so the caller can use another way)."""
    firsts: list[CustomerKey | _Lookup | DomainError | InvalidInput] = []
    for ref in refs:
        try:
            firsts.append(_lookup_of(ref, path, phone_region))
        except (DomainError, InvalidInput) as exc:
            firsts.append(exc)
    lookups = [f for f in firsts if isinstance(f, _Lookup)]
    wanted = unique([present(f.identity, "identity") for f in lookups if f.way == "identity"])
    holders = await uow.repo(IDENTITIES).holders(wanted) if wanted else {}
    phones = sorted({present(f.contact, "phone") for f in lookups if f.way == "phone"})
    emails = sorted({present(f.contact, "email") for f in lookups if f.way == "email"})
    having: dict[tuple[str, str], set[int]] = {}
    if phones or emails:
        for customer in await uow.repo(CUSTOMERS).live_by_contacts(phones, emails):
            cid = present(customer.id, "customer id")
            if customer.phone is not None:
                having.setdefault(("phone", customer.phone), set()).add(cid)
            if customer.email is not None:
                having.setdefault(("email", customer.email), set()).add(cid)
    keys: list[CustomerKey | DomainError | InvalidInput] = []
    for first in firsts:
        if not isinstance(first, _Lookup):
            keys.append(first)
        elif first.identity is not None:
            holder = holders.get(first.identity)
            keys.append(
                holder
                if holder is not None
                else DomainError(
                    ErrorCode.NOT_FOUND,
                    (*path, "identity"),
                    f"No customer holds {describe(first.identity)}.",
                )
            )
        else:
            found = sorted(having.get((first.way, present(first.contact, "contact")), ()))
            if len(found) == 1:
                keys.append(found[0])
            elif not found:
                keys.append(
                    DomainError(
                        ErrorCode.NOT_FOUND,
                        (*path, first.way),
                        f"No customer (not erased) has this {first.way}.",
                    )
                )
            else:
                keys.append(
                    DomainError(
                        ErrorCode.AMBIGUOUS_CUSTOMER,
                        (*path, first.way),
                        f"{len(found)} customers have this {first.way}; name the customer "
                        "by id, externalId or identity.",
                    )
                )
    return keys


async def ref_key(
    uow: UnitOfWork, ref: CustomerRef, path: tuple[str, ...], *, phone_region: str | None
) -> CustomerKey:
    """The key one reference names (see `ref_keys`), or its refusal raised."""
    (key,) = await ref_keys(uow, [ref], path, phone_region=phone_region)
    if isinstance(key, DomainError | InvalidInput):
        raise key
    return key


def found_or_prepared(
    ref: CustomerRef,
    key: CustomerKey,
    found: Customer | None,
    now: datetime,
    *,
    phone_region: str | None,
    path: tuple[str, ...],
) -> tuple[Customer, bool]:
    """The pure half of `find_or_prepare`: `found` (the customer looked up by `key`,
    or None), or a new customer built from the profile fields — not yet added — and
    True. Unknown without profile fields is NOT_FOUND, so a typo in an externalId
    never creates a stray customer."""
    if found is not None:
        return found, False
    if isinstance(key, int):
        raise DomainError(ErrorCode.NOT_FOUND, (*path, "id"), "No customer has this id.")
    if ref.profile is None:
        raise DomainError(
            ErrorCode.NOT_FOUND,
            (*path, "external_id"),
            "No customer has this externalId; send profile fields to create one.",
        )
    fresh = apply_profile(
        Customer(id=None, external_id=key, created_at=now, updated_at=now),
        ref.profile,
        today=now.date(),
        phone_region=phone_region,
        path=path,
    )
    return fresh, True


async def survivor_keys(
    customers: CustomerRepository, keys: Sequence[int | str]
) -> dict[int | str, int]:
    """THE place a customer named by id or externalId is resolved through merges:
    each key that names a merged customer, mapped to its survivor's id (others are
    left out). A write that then locks the customer must still check that it was not
    merged meanwhile (`check_not_merged`)."""
    return await customers.survivors(
        [k for k in keys if isinstance(k, int)], [k for k in keys if isinstance(k, str)]
    )


async def survivor_id(uow: UnitOfWork, customer_id: int) -> int:
    """The customer a write naming `customer_id` acts on: its survivor when it was
    merged (`survivor_keys`), else itself. Lock the result and `check_not_merged`."""
    survivors = await survivor_keys(uow.repo(CUSTOMERS), [customer_id])
    return survivors.get(customer_id, customer_id)


def check_not_merged(customers: Iterable[Customer | None]) -> None:
    """After locking: a customer merged between the lookup and the lock makes the
    transaction run again (`retrying`), which then resolves it to the survivor."""
    if any(c is not None and c.merged_into_id is not None for c in customers):
        raise ConcurrentWrite("a customer was merged while this write waited for it")


async def find_or_prepare(
    uow: UnitOfWork,
    ref: CustomerRef,
    now: datetime,
    *,
    phone_region: str | None,
    path: tuple[str, ...],
    lock: bool,
) -> tuple[Customer, bool]:
    """The customer `ref` names (locked when `lock`), or a new one built from its
    profile fields — not yet added — and True (see `found_or_prepared`)."""
    key = await ref_key(uow, ref, path, phone_region=phone_region)
    customers = uow.repo(CUSTOMERS)
    key = (await survivor_keys(customers, [key])).get(key, key)
    if isinstance(key, int):
        found = await customers.get(key, for_update=lock)
    else:
        found = await customers.get_by_external_id(key, for_update=lock)
    check_not_merged([found])
    return found_or_prepared(ref, key, found, now, phone_region=phone_region, path=path)


async def find_live(
    uow: UnitOfWork, ref: CustomerRef, path: tuple[str, ...], *, phone_region: str | None
) -> Customer:
    """The existing customer `ref` names, locked; never created, never an erased one."""
    key = await ref_key(uow, ref, path, phone_region=phone_region)
    customers = uow.repo(CUSTOMERS)
    key = (await survivor_keys(customers, [key])).get(key, key)
    if isinstance(key, int):
        found = await customers.get(key, for_update=True)
        missing = DomainError(ErrorCode.NOT_FOUND, (*path, "id"), "No customer has this id.")
    else:
        found = await customers.get_by_external_id(key, for_update=True)
        missing = DomainError(
            ErrorCode.NOT_FOUND, (*path, "external_id"), "No customer has this externalId."
        )
    if found is None:
        raise missing
    check_not_merged([found])
    if found.erased_at is not None:
        raise DomainError(ErrorCode.ERASED, path, "This customer's personal data was erased.")
    return found


def identities_of(given: Sequence[IdentityInput], path: tuple[str, ...]) -> list[Identity]:
    """The checked identities of a command, each once, or every problem at once."""
    bounded_list(given, path, limit=MAX_IDENTITIES)
    errors = ErrorCollector()
    checked: list[Identity] = []
    for index, item in enumerate(given):
        try:
            checked.append(identity_of(item, (*path, str(index))))
        except DomainError as exc:
            errors.capture(exc)
        except InvalidInput as exc:
            errors.errors.extend(exc.errors)
    errors.raise_if_any()
    return unique(checked)


async def attach_identities(
    uow: UnitOfWork,
    customer_id: int,
    identities: Sequence[Identity],
    now: datetime,
    *,
    path: tuple[str, ...] = ("identities",),
    listed: bool = True,
) -> list[Identity]:
    """Attaches the identities to the customer, skipping the ones they hold; returns
    the ones added. One statement when none is new, three otherwise. IDENTITY_TAKEN
    names the first one another customer holds (``<path>.<i>.value`` when `listed`,
    ``<path>.value`` otherwise); TOO_MANY when the customer would hold more than
    `MAX_PER_CUSTOMER`."""
    if not identities:
        return []
    holders = await uow.repo(IDENTITIES).holders(identities)
    new = [
        identity
        for index, identity in enumerate(identities)
        if to_add(
            identity,
            holders.get(identity),
            customer_id,
            (*path, str(index)) if listed else path,
        )
    ]
    if not new:
        return []
    held = len(await uow.repo(IDENTITIES).of_customer(customer_id))
    if held + len(new) > MAX_PER_CUSTOMER:
        raise DomainError(
            ErrorCode.TOO_MANY,
            path,
            f"A customer holds at most {MAX_PER_CUSTOMER} identities; this one holds {held}.",
        )
    await uow.repo(IDENTITIES).add_many(customer_id, new, now)
    return new


async def refuse_shared_contacts(
    uow: UnitOfWork, customer: Customer, before: Customer | None
) -> None:
    """With the program setting `unique_contact_keys`, a phone or e-mail that another
    customer (not erased) has is refused (TAKEN), so both stay lookup keys. Only a
    value this change sets is checked; the program is read only then."""
    phone = customer.phone if customer.phone != (before.phone if before else None) else None
    email = customer.email if customer.email != (before.email if before else None) else None
    if phone is None and email is None:
        return
    if not (await uow.repo(PROGRAM).get()).unique_contact_keys:
        return
    keys = [f"phone:{phone}"] if phone else []
    keys += [f"email:{email}"] if email else []
    await uow.repo(CUSTOMERS).lock_contacts(sorted(keys))
    others = [
        c
        for c in await uow.repo(CUSTOMERS).live_by_contacts(
            [phone] if phone else [], [email] if email else []
        )
        if c.id != customer.id
    ]
    errors = ErrorCollector()
    if phone is not None and any(c.phone == phone for c in others):
        errors.add(ErrorCode.TAKEN, ("phone",), "Another customer has this phone.")
    if email is not None and any(c.email == email for c in others):
        errors.add(ErrorCode.TAKEN, ("email",), "Another customer has this email.")
    errors.raise_if_any()


class CustomerService:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock, *, phone_region: str | None):
        self.uow_factory = uow_factory
        self.clock = clock
        self.phone_region = phone_region

    async def upsert(self, command: UpsertCustomer) -> UpsertResult:
        external_id = required_text(
            command.external_id, ("external_id",), max_length=MAX_EXTERNAL_ID
        )
        if external_id.startswith(ERASED_PREFIX):
            raise DomainError(
                ErrorCode.INVALID,
                ("external_id",),
                f"externalId may not start with {ERASED_PREFIX!r}: erased customers use it.",
            )
        identities = identities_of(command.identities, ("identities",))
        # A concurrent upsert of the same externalId (or attach of the same identity)
        # can win the insert: this transaction then fails with ConcurrentWrite and
        # runs again, finding that customer and updating it, or the identity taken.
        return await retrying(lambda: self._upsert_once(external_id, command.profile, identities))

    async def _upsert_once(
        self, external_id: str, profile: ProfileInput, identities: Sequence[Identity]
    ) -> UpsertResult:
        now = self.clock.now()
        async with self.uow_factory() as uow:
            # A merged customer's externalId updates its survivor (docs/merging.md).
            survivor = (await survivor_keys(uow.repo(CUSTOMERS), [external_id])).get(external_id)
            if survivor is not None:
                existing = await uow.repo(CUSTOMERS).get(survivor, for_update=True)
            else:
                existing = await uow.repo(CUSTOMERS).get_by_external_id(
                    external_id, for_update=True
                )
            check_not_merged([existing])
            if existing is None:
                fresh = apply_profile(
                    Customer(id=None, external_id=external_id, created_at=now, updated_at=now),
                    profile,
                    today=now.date(),
                    phone_region=self.phone_region,
                )
                await refuse_shared_contacts(uow, fresh, None)
                created = await uow.repo(CUSTOMERS).add(fresh)
                await attach_identities(uow, present(created.id, "customer id"), identities, now)
                await uow.repo(EVENTS).append(
                    Event.of(
                        CustomerCreatedV1(present(created.id, "customer id"), created.external_id),
                        now,
                    )
                )
                await uow.commit()
                return UpsertResult(created, created=True)
            updated = apply_profile(
                existing, profile, today=now.date(), phone_region=self.phone_region
            )
            await refuse_shared_contacts(uow, updated, existing)
            if updated != existing:
                updated.updated_at = now
                await uow.repo(CUSTOMERS).save(updated)
            await attach_identities(uow, present(existing.id, "customer id"), identities, now)
            await uow.commit()
            return UpsertResult(updated, created=False)

    async def update(self, command: UpdateCustomer) -> Customer:
        return await retrying(lambda: self._update_once(command))

    async def _update_once(self, command: UpdateCustomer) -> Customer:
        now = self.clock.now()
        async with self.uow_factory() as uow:
            customer = await self._live(uow, command.customer_id)
            updated = apply_profile(
                customer, command.profile, today=now.date(), phone_region=self.phone_region
            )
            await refuse_shared_contacts(uow, updated, customer)
            if updated != customer:
                updated.updated_at = now
                await uow.repo(CUSTOMERS).save(updated)
            await uow.commit()
            return updated

    async def erase(self, customer_id: int) -> Customer:
        return await retrying(lambda: self._erase_once(customer_id))

    async def _erase_once(self, customer_id: int) -> Customer:
        now = self.clock.now()
        async with self.uow_factory() as uow:
            customer = await self._live(uow, customer_id)
            erased = erased_copy(customer, now)
            await uow.repo(CUSTOMERS).save(erased)
            person = present(customer.id, "customer id")  # the survivor, if merged
            # The records merged into this customer are the same person: their
            # profiles go too (their identities and consent moved when merged).
            for merged in await uow.repo(CUSTOMERS).merged_into(person):
                if merged.erased_at is None:
                    await uow.repo(CUSTOMERS).save(erased_copy(merged, now))
            # The ids other systems know them by are personal data too; the ledger stays.
            await uow.repo(IDENTITIES).remove_all(person)
            # Consent records go too (docs/messaging.md "Erasure"): with none, nothing
            # is sent, and no trace of the person's preferences stays.
            await uow.repo(CONSENTS).remove_all(person)
            await uow.commit()
            return erased

    @staticmethod
    async def _live(uow: UnitOfWork, customer_id: int) -> Customer:
        """The customer `customer_id` names, locked: a merged id gives its survivor
        (docs/merging.md), so a profile change or an erasure reaches the person."""
        customer = await uow.repo(CUSTOMERS).get(
            await survivor_id(uow, customer_id), for_update=True
        )
        check_not_merged([customer])
        if customer is None:
            raise DomainError(ErrorCode.NOT_FOUND, ("id",), "No customer has this id.")
        if customer.erased_at is not None:
            raise DomainError(
                ErrorCode.ERASED, ("id",), "This customer's personal data was erased."
            )
        return customer
