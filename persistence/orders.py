"""Orders, their items and refunds. Customer-owned: every row carries customer_id."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    ForeignKey,
    FromClause,
    Index,
    Integer,
    Numeric,
    ScalarSelect,
    String,
    Update,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.orders import ORDERS, Order, OrderItem, Refund
from persistence.base import Base, table_of
from persistence.customers import CustomerRow
from persistence.pagination import (
    Page,
    PageRequest,
    SortKey,
    counts_per_parent,
    pages_per_parent,
)
from persistence.repositories import register
from persistence.statements import insert_returning_ids
from persistence.types import BigId, UtcDateTime

MONEY = Numeric(18, 2)


class OrderRow(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"))
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    refunded_amount: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    currency: Mapped[str] = mapped_column(String(3))
    placed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    channel: Mapped[str | None] = mapped_column(String(64))
    award_points: Mapped[bool] = mapped_column(Boolean)
    points_earned: Mapped[int] = mapped_column(Integer, default=0)
    points_reversed: Mapped[int] = mapped_column(Integer, default=0)
    request_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        # Covers the per-customer aggregates of the read models (lifecycle, RFM): an
        # index-only scan in customer order, never a table lookup per order.
        Index(
            "ix_orders_customer_id_placed_at_amounts",
            "customer_id",
            "placed_at",
            "amount",
            "refunded_amount",
        ),
        Index("ix_orders_placed_at", "placed_at"),
    )


def counted(orders: FromClause | None = None) -> ColumnElement[bool]:
    """The SQL spelling of `Order.counted` (domain/orders.py): not refunded in full.
    The one spelling every read uses; `orders` is the orders table or an alias of
    it (the mapped table when omitted)."""
    table = OrderRow.__table__ if orders is None else orders
    return table.c.refunded_amount < table.c.amount


class OrderItemRow(Base):
    __tablename__ = "order_items"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id"), index=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    sku: Mapped[str] = mapped_column(String(128))
    name: Mapped[str | None] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(100))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(MONEY)


class RefundRow(Base):
    __tablename__ = "order_refunds"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id"), index=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    points_reversed: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


def order_to_domain(row: OrderRow, items: list[OrderItem] | None = None) -> Order:
    return Order(
        id=row.id,
        customer_id=row.customer_id,
        external_id=row.external_id,
        amount=Decimal(row.amount),
        currency=row.currency,
        placed_at=row.placed_at,
        channel=row.channel,
        award_points=row.award_points,
        request_hash=row.request_hash,
        created_at=row.created_at,
        refunded_amount=Decimal(row.refunded_amount),
        points_earned=row.points_earned,
        points_reversed=row.points_reversed,
        items=items or [],
    )


def refund_to_domain(row: RefundRow) -> Refund:
    return Refund(
        id=row.id,
        order_id=row.order_id,
        customer_id=row.customer_id,
        amount=Decimal(row.amount),
        points_reversed=row.points_reversed,
        created_at=row.created_at,
    )


class SqlOrderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, order_id: int) -> Order | None:
        row = (
            await self.session.execute(
                select(OrderRow)
                .where(OrderRow.id == order_id)
                .execution_options(populate_existing=True)
            )
        ).scalar_one_or_none()
        return order_to_domain(row) if row else None

    async def get_by_external_id(self, external_id: str) -> Order | None:
        row = (
            await self.session.execute(
                select(OrderRow)
                .where(OrderRow.external_id == external_id)
                .execution_options(populate_existing=True)
            )
        ).scalar_one_or_none()
        return order_to_domain(row) if row else None

    async def add(self, order: Order) -> Order:
        row = OrderRow(
            customer_id=order.customer_id,
            external_id=order.external_id,
            amount=order.amount,
            refunded_amount=order.refunded_amount,
            currency=order.currency,
            placed_at=order.placed_at,
            channel=order.channel,
            award_points=order.award_points,
            points_earned=order.points_earned,
            points_reversed=order.points_reversed,
            request_hash=order.request_hash,
            created_at=order.created_at,
        )
        self.session.add(row)
        await self.session.flush()
        order.id = row.id
        if order.items:
            await self.session.execute(
                insert(OrderItemRow),
                [
                    {
                        "order_id": row.id,
                        "customer_id": order.customer_id,
                        "sku": item.sku,
                        "name": item.name,
                        "category": item.category,
                        "quantity": item.quantity,
                        "unit_price": item.unit_price,
                    }
                    for item in order.items
                ],
            )
        return order

    async def save(self, order: Order) -> None:
        await self.session.execute(
            update(OrderRow)
            .where(OrderRow.id == order.id)
            .values(
                refunded_amount=order.refunded_amount,
                points_earned=order.points_earned,
                points_reversed=order.points_reversed,
            )
        )

    async def add_refund(self, refund: Refund) -> Refund:
        row = RefundRow(
            order_id=refund.order_id,
            customer_id=refund.customer_id,
            amount=refund.amount,
            points_reversed=refund.points_reversed,
            created_at=refund.created_at,
        )
        self.session.add(row)
        await self.session.flush()
        refund.id = row.id
        return refund

    async def get_refund(self, refund_id: int) -> Refund | None:
        row = await self.session.get(RefundRow, refund_id)
        return refund_to_domain(row) if row else None

    async def by_external_ids(self, external_ids: Sequence[str]) -> dict[str, Order]:
        if not external_ids:
            return {}
        return await orders_by_external_ids(self.session, list(dict.fromkeys(external_ids)))

    async def add_many(self, orders: Sequence[Order]) -> None:
        """The orders and their items in one round (Core statements: a batch of a
        thousand orders must not pay ORM bookkeeping per row); sets their ids."""
        if not orders:
            return
        table = table_of(OrderRow)
        ids = await insert_returning_ids(
            self.session,
            table,
            [
                {
                    "customer_id": order.customer_id,
                    "external_id": order.external_id,
                    "amount": order.amount,
                    "refunded_amount": order.refunded_amount,
                    "currency": order.currency,
                    "placed_at": order.placed_at,
                    "channel": order.channel,
                    "award_points": order.award_points,
                    "points_earned": order.points_earned,
                    "points_reversed": order.points_reversed,
                    "request_hash": order.request_hash,
                    "created_at": order.created_at,
                }
                for order in orders
            ],
        )
        for order, order_id in zip(orders, ids, strict=True):
            order.id = order_id
        items = [
            {
                "order_id": order.id,
                "customer_id": order.customer_id,
                "sku": item.sku,
                "name": item.name,
                "category": item.category,
                "quantity": item.quantity,
                "unit_price": item.unit_price,
            }
            for order in orders
            for item in order.items
        ]
        if items:
            await self.session.execute(insert(table_of(OrderItemRow)), items)

    async def save_points_earned(self, orders: Sequence[Order]) -> None:
        if not orders:
            return
        table = table_of(OrderRow)
        await self.session.execute(
            table.update()
            .where(table.c.id == bindparam("order"))
            .values(points_earned=bindparam("points")),
            [{"order": order.id, "points": order.points_earned} for order in orders],
        )

    async def refresh_customer_stats(self, customer_id: int) -> None:
        await self.refresh_customers_stats([customer_id])

    async def refresh_customers_stats(self, customer_ids: Sequence[int]) -> None:
        """THE place order writes maintain the customers' order statistics: recomputed
        from their counted orders in one UPDATE for all of them, so they can never
        drift from the orders themselves."""
        ids = sorted(set(customer_ids))
        if not ids:
            return
        customers = table_of(CustomerRow)
        orders = table_of(OrderRow)

        def of_customer(value: ColumnElement[Any]) -> ScalarSelect[Any]:
            # Correlated: a customer left with no counted order (a full refund) gets
            # 0 and NULLs, which a grouped join would skip.
            return (
                select(value)
                .where(orders.c.customer_id == customers.c.id, counted(orders))
                .correlate(customers)
                .scalar_subquery()
            )

        await self.session.execute(
            customers.update()
            .where(customers.c.id.in_(ids))
            .values(
                orders_count=of_customer(func.count()),
                total_spent=of_customer(
                    func.coalesce(func.sum(orders.c.amount - orders.c.refunded_amount), 0)
                ),
                first_order_at=of_customer(func.min(orders.c.placed_at)),
                last_order_at=of_customer(func.max(orders.c.placed_at)),
            )
        )


def refresh_every_customer_stats() -> Update:
    """`refresh_customers_stats` for every customer with a counted order, as one
    UPDATE: for bulk loads that wrote orders without the services (benchmarks, an
    import into a fresh program). The lifecycle and RFM reads trust these columns."""
    stats = (
        select(
            OrderRow.customer_id,
            func.count().label("n"),
            func.sum(OrderRow.amount - OrderRow.refunded_amount).label("net"),
            func.min(OrderRow.placed_at).label("first"),
            func.max(OrderRow.placed_at).label("last"),
        )
        .where(counted())
        .group_by(OrderRow.customer_id)
        .subquery()
    )
    return (
        update(CustomerRow)
        .where(CustomerRow.id == stats.c.customer_id)
        .values(
            orders_count=stats.c.n,
            total_spent=stats.c.net,
            first_order_at=stats.c.first,
            last_order_at=stats.c.last,
        )
    )


# ---- reads for the API -------------------------------------------------------------

ORDER_SORT = SortKey((OrderRow.placed_at, OrderRow.id), descending=True)


async def order_pages(
    session: AsyncSession, requests: Sequence[PageRequest]
) -> dict[PageRequest, Page[Order]]:
    """`Customer.orders` pages after a cursor, for a page of customers at once."""
    pages = await pages_per_parent(
        session,
        OrderRow,
        OrderRow.customer_id,
        ORDER_SORT,
        requests,
        lambda r: (r.placed_at, r.id),
    )
    return {
        k: Page([order_to_domain(r) for r in p.items], p.keys, p.has_next) for k, p in pages.items()
    }


async def order_counts(session: AsyncSession, customer_ids: Sequence[int]) -> dict[int, int]:
    return await counts_per_parent(session, OrderRow.customer_id, customer_ids)


async def orders_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, Order]:
    rows = await session.execute(select(OrderRow).where(OrderRow.id.in_(list(ids))))
    return {r.id: order_to_domain(r) for r in rows.scalars()}


async def orders_by_external_ids(
    session: AsyncSession, external_ids: Sequence[str]
) -> dict[str, Order]:
    rows = await session.execute(
        select(OrderRow).where(OrderRow.external_id.in_(list(external_ids)))
    )
    return {r.external_id: order_to_domain(r) for r in rows.scalars()}


async def items_of_orders(
    session: AsyncSession, order_ids: Sequence[int]
) -> dict[int, list[OrderItem]]:
    rows = await session.execute(
        select(OrderItemRow)
        .where(OrderItemRow.order_id.in_(list(order_ids)))
        .order_by(OrderItemRow.order_id, OrderItemRow.id)
    )
    found: dict[int, list[OrderItem]] = {oid: [] for oid in order_ids}
    for r in rows.scalars():
        found[r.order_id].append(
            OrderItem(r.sku, r.quantity, Decimal(r.unit_price), r.name, r.category)
        )
    return found


async def refunds_of_orders(
    session: AsyncSession, order_ids: Sequence[int]
) -> dict[int, list[Refund]]:
    rows = await session.execute(
        select(RefundRow)
        .where(RefundRow.order_id.in_(list(order_ids)))
        .order_by(RefundRow.order_id, RefundRow.id)
    )
    found: dict[int, list[Refund]] = {oid: [] for oid in order_ids}
    for r in rows.scalars():
        found[r.order_id].append(refund_to_domain(r))
    return found


register(ORDERS, lambda tx: SqlOrderRepository(tx.session))
