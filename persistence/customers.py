"""Customer rows, the repository services use, and the list queries the API reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    Select,
    String,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, aliased, mapped_column

from domain.customers import CUSTOMERS, Customer, CustomerStats, Gender
from domain.errors import present
from domain.referrals import new_code
from persistence.base import Base, table_of
from persistence.pagination import Page, PageRequest, SortKey, keyset, page_of, pages_per_parent
from persistence.repositories import register
from persistence.statements import insert_returning_ids, is_postgresql, one_of
from persistence.types import BigId, JsonDocument, UtcDateTime

# The advisory lock class of contact keys (PostgreSQL), with the key's hash as the
# second half: see SqlCustomerRepository.lock_contacts.
CONTACT_LOCK = 0x4C47_4354  # "LGCT"


class CustomerRow(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    birthday: Mapped[date | None] = mapped_column(Date)
    gender: Mapped[str | None] = mapped_column(String(16))
    city: Mapped[str | None] = mapped_column(String(100))
    acquisition_channel: Mapped[str | None] = mapped_column(String(64))
    attributes: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    erased_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Order statistics and points totals, kept current in the order's transaction.
    orders_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    total_spent: Mapped[Decimal] = mapped_column(
        Numeric(18, 2), default=Decimal(0), server_default="0"
    )
    first_order_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_order_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    points_balance: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    points_debt: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    lifetime_earned: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    tier_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("tiers.id"))
    tier_since: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Made when the row is inserted, whichever path creates the customer (the
    # migration 0009 gave one to every customer created before this rule).
    referral_code: Mapped[str | None] = mapped_column(String(16), unique=True, default=new_code)
    # Set when this customer was merged into another (`customerMerge`): every lookup
    # by this customer's id or externalId then finds the survivor (docs/merging.md).
    merged_into_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("customers.id"), index=True
    )

    __table_args__ = (
        Index("ix_customers_created_at_id", "created_at", "id"),
        # The classification read models find the customers who bought after their
        # as-of instant with it (none, as of now): only those have orders aggregated.
        Index("ix_customers_last_order_at", "last_order_at"),
    )


def to_domain(row: CustomerRow) -> Customer:
    return Customer(
        id=row.id,
        external_id=row.external_id,
        email=row.email,
        phone=row.phone,
        name=row.name,
        birthday=row.birthday,
        gender=Gender(row.gender) if row.gender else None,
        city=row.city,
        acquisition_channel=row.acquisition_channel,
        attributes=dict(row.attributes or {}),
        created_at=row.created_at,
        updated_at=row.updated_at,
        erased_at=row.erased_at,
        merged_into_id=row.merged_into_id,
        stats=CustomerStats(
            orders_count=row.orders_count,
            total_spent=Decimal(row.total_spent),
            first_order_at=row.first_order_at,
            last_order_at=row.last_order_at,
            points_balance=row.points_balance,
            points_debt=row.points_debt,
            lifetime_earned=row.lifetime_earned,
            tier_id=row.tier_id,
            tier_since=row.tier_since,
        ),
    )


def _values(customer: Customer) -> dict[str, Any]:
    return {
        "external_id": customer.external_id,
        "email": customer.email,
        "phone": customer.phone,
        "name": customer.name,
        "birthday": customer.birthday,
        "gender": customer.gender.value if customer.gender else None,
        "city": customer.city,
        "acquisition_channel": customer.acquisition_channel,
        "attributes": customer.attributes,
        "created_at": customer.created_at,
        "updated_at": customer.updated_at,
        "erased_at": customer.erased_at,
    }


class SqlCustomerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, customer_id: int, *, for_update: bool = False) -> Customer | None:
        # populate_existing: statistics and balances change by UPDATE statements in the
        # same transaction, so a second read must not return the identity map's copy.
        statement = (
            select(CustomerRow)
            .where(CustomerRow.id == customer_id)
            .execution_options(populate_existing=True)
        )
        if for_update:
            statement = statement.with_for_update()
        row = (await self.session.execute(statement)).scalar_one_or_none()
        return to_domain(row) if row else None

    async def hold(self, customer_id: int) -> Customer | None:
        row = (
            await self.session.execute(
                select(CustomerRow)
                .where(CustomerRow.id == customer_id)
                .with_for_update(key_share=True)
                .execution_options(populate_existing=True)
            )
        ).scalar_one_or_none()
        return to_domain(row) if row else None

    async def get_by_external_id(
        self, external_id: str, *, for_update: bool = False
    ) -> Customer | None:
        statement = select(CustomerRow).where(CustomerRow.external_id == external_id)
        if for_update:
            statement = statement.with_for_update()
        row = (await self.session.execute(statement)).scalar_one_or_none()
        return to_domain(row) if row else None

    async def add(self, customer: Customer) -> Customer:
        row = CustomerRow(**_values(customer))
        self.session.add(row)
        await self.session.flush()
        customer.id = row.id
        return customer

    async def save(self, customer: Customer) -> None:
        await self.session.execute(
            update(CustomerRow).where(CustomerRow.id == customer.id).values(**_values(customer))
        )

    async def existing_ids(self, customer_ids: Sequence[int]) -> set[int]:
        if not customer_ids:
            return set()
        rows = await self.session.execute(
            select(CustomerRow.id).where(one_of(self.session, CustomerRow.id, customer_ids))
        )
        return set(rows.scalars())

    async def find_many(
        self, customer_ids: Sequence[int], external_ids: Sequence[str]
    ) -> list[Customer]:
        if not customer_ids and not external_ids:
            return []
        rows = await self.session.execute(
            select(CustomerRow)
            .where(
                or_(
                    one_of(self.session, CustomerRow.id, customer_ids),
                    one_of(self.session, CustomerRow.external_id, external_ids),
                )
            )
            .execution_options(populate_existing=True)
        )
        return [to_domain(r) for r in rows.scalars()]

    async def survivors(
        self, customer_ids: Sequence[int], external_ids: Sequence[str]
    ) -> dict[int | str, int]:
        if not customer_ids and not external_ids:
            return {}
        rows = await self.session.execute(
            select(CustomerRow.id, CustomerRow.external_id, CustomerRow.merged_into_id).where(
                CustomerRow.merged_into_id.is_not(None),
                or_(
                    one_of(self.session, CustomerRow.id, customer_ids),
                    one_of(self.session, CustomerRow.external_id, external_ids),
                ),
            )
        )
        found: dict[int | str, int] = {}
        asked_ids, asked_external = set(customer_ids), set(external_ids)
        for merged_id, external_id, survivor_id in rows.all():
            survivor = present(survivor_id, "survivor id")
            if merged_id in asked_ids:
                found[merged_id] = survivor
            if external_id in asked_external:
                found[external_id] = survivor
        return found

    async def merged_into(self, survivor_id: int) -> list[Customer]:
        rows = await self.session.execute(
            select(CustomerRow)
            .where(CustomerRow.merged_into_id == survivor_id)
            .order_by(CustomerRow.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return [to_domain(r) for r in rows.scalars()]

    async def lock_many(self, customer_ids: Sequence[int]) -> dict[int, Customer]:
        # ORDER BY id under FOR UPDATE: PostgreSQL locks the rows as the sorted scan
        # returns them, so two batches lock their common customers in the same order.
        if not customer_ids:
            return {}
        rows = await self.session.execute(
            select(CustomerRow)
            .where(one_of(self.session, CustomerRow.id, sorted(set(customer_ids))))
            .order_by(CustomerRow.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return {r.id: to_domain(r) for r in rows.scalars()}

    async def add_many(self, customers: Sequence[Customer]) -> None:
        if not customers:
            return
        ids = await insert_returning_ids(
            self.session, table_of(CustomerRow), [_values(c) for c in customers]
        )
        for customer, new_id in zip(customers, ids, strict=True):
            customer.id = new_id

    async def lock_contacts(self, keys: Sequence[str]) -> None:
        # Sorted, so two writers of the same keys take them in the same order; one
        # statement however many keys (an import locks a chunk's contacts at once):
        # the function scan over the array feeds the aggregate in array order.
        if not is_postgresql(self.session) or not keys:
            return
        await self.session.execute(
            text(
                "SELECT count(pg_advisory_xact_lock(:lock_class, hashtext(key))) "
                "FROM unnest(CAST(:keys AS text[])) AS key"
            ),
            {"lock_class": CONTACT_LOCK, "keys": sorted(set(keys))},
        )

    async def live_by_contacts(
        self, phones: Sequence[str], emails: Sequence[str]
    ) -> list[Customer]:
        if not phones and not emails:
            return []
        rows = await self.session.execute(
            select(CustomerRow)
            .where(
                CustomerRow.erased_at.is_(None),
                # A merged customer keeps its contacts but lives on as its survivor.
                CustomerRow.merged_into_id.is_(None),
                or_(CustomerRow.phone.in_(list(phones)), CustomerRow.email.in_(list(emails))),
            )
            .order_by(CustomerRow.id)
        )
        return [to_domain(r) for r in rows.scalars()]


# ---- reads for the API -------------------------------------------------------------


class CustomerSort(StrEnum):
    CREATED_AT_DESC = "CREATED_AT_DESC"
    CREATED_AT_ASC = "CREATED_AT_ASC"


SORT_KEYS = {
    CustomerSort.CREATED_AT_DESC: SortKey((CustomerRow.created_at, CustomerRow.id), True),
    CustomerSort.CREATED_AT_ASC: SortKey((CustomerRow.created_at, CustomerRow.id), False),
}


@dataclass(frozen=True)
class CustomerFilter:
    search: str | None = None
    tag: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    include_erased: bool = False


def _filtered(
    statement: Select[*tuple[Any, ...]], criteria: CustomerFilter
) -> Select[*tuple[Any, ...]]:
    from persistence.tags import CustomerTagRow, TagRow

    # A merged customer is not listed: it lives on as its survivor (docs/merging.md).
    statement = statement.where(CustomerRow.merged_into_id.is_(None))
    if not criteria.include_erased:
        statement = statement.where(CustomerRow.erased_at.is_(None))
    if criteria.created_after is not None:
        statement = statement.where(CustomerRow.created_at >= criteria.created_after)
    if criteria.created_before is not None:
        statement = statement.where(CustomerRow.created_at < criteria.created_before)
    if criteria.tag is not None:
        statement = statement.where(
            CustomerRow.id.in_(
                select(CustomerTagRow.customer_id)
                .join(TagRow, TagRow.id == CustomerTagRow.tag_id)
                .where(TagRow.name_key == criteria.tag.strip().casefold())
            )
        )
    if criteria.search:
        statement = statement.where(_search_clause(criteria.search))
    return statement


def _search_clause(text: str) -> ColumnElement[bool]:
    """Exact on the identifiers people paste, substring on the name."""
    term = text.strip()
    lowered = term.lower()
    escaped = lowered.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    digits = "".join(ch for ch in term if ch.isdigit())
    clauses = [
        CustomerRow.external_id == term,
        CustomerRow.email == lowered,
        func.lower(CustomerRow.name).like(f"%{escaped}%", escape="\\"),
    ]
    if len(digits) >= 5:
        clauses.append(CustomerRow.phone.like(f"%{digits}", escape="\\"))
    return or_(*clauses)


async def list_customers(
    session: AsyncSession,
    criteria: CustomerFilter,
    sort: CustomerSort,
    after: Sequence[Any] | None,
    first: int,
) -> Page[Customer]:
    key = SORT_KEYS[sort]
    statement = keyset(_filtered(select(CustomerRow), criteria), key, after, first)
    rows = (await session.execute(statement)).scalars().all()
    page = page_of(rows, first, lambda r: (r.created_at, r.id))
    return Page([to_domain(r) for r in page.items], page.keys, page.has_next)


async def count_customers(session: AsyncSession, criteria: CustomerFilter) -> int:
    statement = _filtered(select(func.count()).select_from(CustomerRow), criteria)
    return int((await session.execute(statement)).scalar_one())


async def customer_pages_of_tags(
    session: AsyncSession, requests: Sequence[PageRequest]
) -> dict[PageRequest, Page[Customer]]:
    """`Tag.customers` (newest first, erased left out) for a page of tags at once."""
    from persistence.tags import CustomerTagRow

    def narrow(statement: Select[*tuple[Any, ...]]) -> Select[*tuple[Any, ...]]:
        return statement.join(CustomerTagRow, CustomerTagRow.customer_id == CustomerRow.id).where(
            CustomerRow.erased_at.is_(None)
        )

    pages = await pages_per_parent(
        session,
        CustomerRow,
        CustomerTagRow.tag_id,
        SORT_KEYS[CustomerSort.CREATED_AT_DESC],
        requests,
        lambda r: (r.created_at, r.id),
        narrow=narrow,
    )
    return {k: Page([to_domain(r) for r in p.items], p.keys, p.has_next) for k, p in pages.items()}


def _as_survivor(named: Any) -> Select[tuple[Any, CustomerRow]]:
    """(the key `named` matched, the customer row) for the customers named by a
    column of a row matched by id or externalId: the row itself, or the survivor it
    was merged into (`customerMerge`; merges keep it one hop)."""
    target = aliased(CustomerRow)
    return select(named, target).join(
        target, target.id == func.coalesce(CustomerRow.merged_into_id, CustomerRow.id)
    )


async def customers_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, Customer]:
    """By id; a merged customer's id gives its survivor."""
    rows = await session.execute(
        _as_survivor(CustomerRow.id).where(one_of(session, CustomerRow.id, ids))
    )
    return {key: to_domain(row) for key, row in rows.all()}


async def customers_by_external_ids(
    session: AsyncSession, external_ids: Sequence[str]
) -> dict[str, Customer]:
    """By externalId; a merged customer's externalId gives its survivor."""
    rows = await session.execute(
        _as_survivor(CustomerRow.external_id).where(
            one_of(session, CustomerRow.external_id, external_ids)
        )
    )
    return {key: to_domain(row) for key, row in rows.all()}


register(CUSTOMERS, lambda tx: SqlCustomerRepository(tx.session))
