"""A customer's further identities: the ids other systems know them by.

The storefront's `external_id` stays on the customer row; every other id (a WeChat
unionid, an openid per mini-program or official account, a POS card, a Tmall or JD
buyer id, a brand's own kind) is one row here, unique within its (type, namespace):
`namespace` is the WeChat app id for `WECHAT_OPENID`, the brand's own name for a
`CUSTOM` type, and empty otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    delete,
    func,
    insert,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.customers import Customer
from domain.identities import IDENTITIES, CustomerIdentity, Identity, IdentityType, unique
from persistence.base import Base
from persistence.customers import CustomerRow
from persistence.customers import to_domain as customer_of
from persistence.repositories import register
from persistence.statements import rows_matched
from persistence.types import BigId, UtcDateTime


class CustomerIdentityRow(Base):
    __tablename__ = "customer_identities"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"))
    type: Mapped[str] = mapped_column(String(32))
    namespace: Mapped[str] = mapped_column(String(64), default="", server_default="")
    value: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        UniqueConstraint("type", "namespace", "value"),
        Index("ix_customer_identities_customer_id", "customer_id"),
    )


def to_domain(row: CustomerIdentityRow) -> CustomerIdentity:
    return CustomerIdentity(
        customer_id=row.customer_id,
        identity=Identity(IdentityType(row.type), row.namespace, row.value),
        created_at=row.created_at,
    )


def _matching(identities: Sequence[Identity]) -> ColumnElement[bool]:
    """One row-value IN over (type, namespace, value): the unique index answers it."""
    return tuple_(
        CustomerIdentityRow.type, CustomerIdentityRow.namespace, CustomerIdentityRow.value
    ).in_([(i.type.value, i.namespace, i.value) for i in identities])


class SqlIdentityRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def holders(self, identities: Sequence[Identity]) -> dict[Identity, int]:
        if not identities:
            return {}
        rows = await self.session.execute(
            select(CustomerIdentityRow).where(_matching(unique(identities)))
        )
        return {found.identity: found.customer_id for found in map(to_domain, rows.scalars())}

    async def of_customer(self, customer_id: int) -> list[CustomerIdentity]:
        rows = await self.session.execute(
            select(CustomerIdentityRow)
            .where(CustomerIdentityRow.customer_id == customer_id)
            .order_by(CustomerIdentityRow.id)
        )
        return [to_domain(r) for r in rows.scalars()]

    async def add_many(
        self, customer_id: int, identities: Sequence[Identity], at: datetime
    ) -> None:
        await self.add_rows([(customer_id, i) for i in identities], at)

    async def add_rows(self, rows: Sequence[tuple[int, Identity]], at: datetime) -> None:
        if not rows:
            return
        await self.session.execute(
            insert(CustomerIdentityRow),
            [
                {
                    "customer_id": customer_id,
                    "type": i.type.value,
                    "namespace": i.namespace,
                    "value": i.value,
                    "created_at": at,
                }
                for customer_id, i in rows
            ],
        )

    async def counts(self, customer_ids: Sequence[int]) -> dict[int, int]:
        if not customer_ids:
            return {}
        rows = await self.session.execute(
            select(CustomerIdentityRow.customer_id, func.count())
            .where(CustomerIdentityRow.customer_id.in_(sorted(set(customer_ids))))
            .group_by(CustomerIdentityRow.customer_id)
        )
        return {customer_id: n for customer_id, n in rows.all()}

    async def remove(self, customer_id: int, identity: Identity) -> bool:
        result = await self.session.execute(
            delete(CustomerIdentityRow).where(
                CustomerIdentityRow.customer_id == customer_id, _matching([identity])
            )
        )
        return rows_matched(result) > 0

    async def remove_all(self, customer_id: int) -> int:
        result = await self.session.execute(
            delete(CustomerIdentityRow).where(CustomerIdentityRow.customer_id == customer_id)
        )
        return rows_matched(result)


# ---- reads for the API -------------------------------------------------------------


async def identities_of_customers(
    session: AsyncSession, customer_ids: Sequence[int]
) -> dict[int, list[CustomerIdentity]]:
    """Every identity of many customers in one statement (the Customer.identities
    loader), oldest first."""
    rows = await session.execute(
        select(CustomerIdentityRow)
        .where(CustomerIdentityRow.customer_id.in_(list(customer_ids)))
        .order_by(CustomerIdentityRow.customer_id, CustomerIdentityRow.id)
    )
    result: dict[int, list[CustomerIdentity]] = {cid: [] for cid in customer_ids}
    for row in rows.scalars():
        result[row.customer_id].append(to_domain(row))
    return result


async def customers_by_identities(
    session: AsyncSession, identities: Sequence[Identity]
) -> dict[Identity, Customer]:
    """The customer holding each identity, for many identities in one statement."""
    rows = await session.execute(
        select(CustomerIdentityRow, CustomerRow)
        .join(CustomerRow, CustomerRow.id == CustomerIdentityRow.customer_id)
        .where(_matching(unique(identities)))
    )
    return {to_domain(link).identity: customer_of(row) for link, row in rows.all()}


register(IDENTITIES, lambda tx: SqlIdentityRepository(tx.session))
