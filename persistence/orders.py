"""Orders, their items and refunds. Customer-owned: every row carries customer_id."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    ForeignKey,
    FromClause,
    Index,
    Integer,
    Numeric,
    ScalarSelect,
    Select,
    String,
    Table,
    Update,
    and_,
    bindparam,
    column,
    delete,
    func,
    insert,
    select,
    true,
    update,
    values,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeEngine

from domain.metrics import Period, local_month, local_year, months_covering
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
from persistence.sql_arithmetic import cents
from persistence.statements import (
    insert_returning_ids,
    insert_rows,
    is_postgresql,
    next_ids,
    one_of,
    typed,
    unnest_rows,
    update_rows,
)
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


class CustomerMonthRow(Base):
    """The per-customer, per-local-month (and per-local-year) read model of counted
    orders.

    One row per customer and program-local calendar month (`months` = 1) and per
    customer and local calendar year (`months` = 12, from the start of January to
    the end of December) in which the customer has at least one counted order (not
    refunded in full): how many, their net amount in exact cents, the first and last
    order instants in it, and the customer's last counted order before it
    (`prev_at`, null when none). Refund state is
    the one known now, like every metric. Kept in the same transaction as every write
    that changes a counted order (`SqlOrderRepository.refresh_order_months`); the
    months are those of the zone in `CustomerMonthZoneRow`, and the whole table is
    rebuilt when the program's time zone changes (`rebuild_order_months`).
    """

    __tablename__ = "customer_order_months"

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), primary_key=True)
    months: Mapped[int] = mapped_column(Integer, primary_key=True)  # 1 or 12
    month_start: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    month_end: Mapped[datetime] = mapped_column(UtcDateTime)
    orders_count: Mapped[int] = mapped_column(Integer)
    net_cents: Mapped[int] = mapped_column(BigInteger)
    first_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_at: Mapped[datetime] = mapped_column(UtcDateTime)
    prev_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (
        # The metrics read whole months (or a whole year) of every customer: a range
        # of month_start, every column in the index so the table is never visited.
        Index(
            "ix_customer_order_months_months_month_start",
            "months",
            "month_start",
            "customer_id",
            "month_end",
            "orders_count",
            "net_cents",
            "first_at",
            "last_at",
            "prev_at",
        ),
    )


class CustomerMonthZoneRow(Base):
    """One row: the time zone whose local months `customer_order_months` is cut in.
    Reads use the read model only when it is the program's zone."""

    __tablename__ = "customer_order_months_zone"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    timezone: Mapped[str] = mapped_column(String(64))


MONTH_ZONE_ROW_ID = 1
# Orders take this PostgreSQL advisory lock in shared mode before reading the read
# model's zone; a rebuild takes it exclusively. So no order can file a month in the
# old zone after a rebuild (SQLite serializes writers anyway).
MONTH_ZONE_LOCK = 0x4C47_4D4F  # "LGMO"


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

    async def refresh_order_months(self, touched: Sequence[tuple[int, datetime]]) -> None:
        """Keeps the per-customer, per-local-month read model (customer_order_months)
        exact: recomputes, from the orders, the rows of every (customer id, order
        instant) month in `touched`, and the "last order before the month" of the
        customers' later months. Call it in the same transaction as ANY write that
        adds a counted order, refunds one (partly or fully) or changes an order's
        customer or instant, with one pair per order written: orderRecord,
        orderRefund, and the set-based bulk path (one call for the whole batch;
        the statements do not grow with the batch)."""
        await refresh_order_months(self.session, touched)

    async def add_to_order_months(self, orders: Sequence[Order]) -> None:
        """The read model after new orders, in the same transaction as their insert
        (see `add_to_order_months` below); one call for a whole batch."""
        await add_to_order_months(self.session, orders)

    async def by_external_ids(self, external_ids: Sequence[str]) -> dict[str, Order]:
        if not external_ids:
            return {}
        return await orders_by_external_ids(self.session, list(dict.fromkeys(external_ids)))

    async def number(self, orders: Sequence[Order]) -> None:
        """Gives each new order of a batch its id before its points are decided (its
        lots and entries name it). PostgreSQL hands the ids out from the orders'
        sequence and nothing is written yet (`write_numbered` inserts the rows once
        their points are known: one statement, no UPDATE after). SQLite has no
        sequence to draw from: the rows (and items) are inserted now, with no points."""
        if not orders:
            return
        if is_postgresql(self.session):
            ids = await next_ids(self.session, table_of(OrderRow), len(orders))
            for order, order_id in zip(orders, ids, strict=True):
                order.id = order_id
            return
        await self._insert(orders, numbered=False)

    async def write_numbered(self, orders: Sequence[Order]) -> None:
        """The numbered orders as decided (their points earned), with their items."""
        if not orders:
            return
        if is_postgresql(self.session):
            await self._insert(orders, numbered=True)
            return
        earned = [order for order in orders if order.points_earned]
        await update_rows(
            self.session,
            table_of(OrderRow),
            "id",
            [{"id": order.id, "points_earned": order.points_earned} for order in earned],
        )

    async def _insert(self, orders: Sequence[Order], *, numbered: bool) -> None:
        """The orders and their items in one round (Core statements: a batch of a
        thousand orders must not pay ORM bookkeeping per row); with `numbered` under
        the ids they have, otherwise sets them."""
        table = table_of(OrderRow)
        rows = [
            {
                **({"id": order.id} if numbered else {}),
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
        ]
        if numbered:
            await insert_rows(self.session, table, rows)
        else:
            ids = await insert_returning_ids(self.session, table, rows)
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
        if is_postgresql(self.session):
            # One grouped pass over the customers' orders rather than four
            # correlated subqueries per customer (half the time for a 5,000-order
            # import chunk). LEFT JOIN: a customer left with no counted order gets 0
            # and NULLs.
            k = unnest_rows((("id", BigInteger()),), [{"id": i} for i in ids], alias="k")
            stats = (
                select(
                    k.c.id,
                    func.count(orders.c.id).label("n"),
                    func.coalesce(func.sum(orders.c.amount - orders.c.refunded_amount), 0).label(
                        "net"
                    ),
                    func.min(orders.c.placed_at).label("first"),
                    func.max(orders.c.placed_at).label("last"),
                )
                .select_from(
                    k.outerjoin(
                        orders,
                        and_(
                            orders.c.customer_id == k.c.id,
                            # Named again as an array: the planner then reads these
                            # customers' orders by index, not every order by hash.
                            one_of(self.session, orders.c.customer_id, ids),
                            counted(orders),
                        ),
                    )
                )
                .group_by(k.c.id)
                .subquery("stats")
            )
            await self.session.execute(
                customers.update()
                .where(customers.c.id == stats.c.id, one_of(self.session, customers.c.id, ids))
                .values(
                    orders_count=stats.c.n,
                    total_spent=stats.c.net,
                    first_order_at=stats.c.first,
                    last_order_at=stats.c.last,
                )
            )
            return

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


async def _order_month_zone(session: AsyncSession, *, exclusive: bool = False) -> str | None:
    if is_postgresql(session):
        lock = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        await session.execute(select(getattr(func, lock)(MONTH_ZONE_LOCK)))
    return (
        await session.execute(
            select(CustomerMonthZoneRow.timezone).where(
                CustomerMonthZoneRow.id == MONTH_ZONE_ROW_ID
            )
        )
    ).scalar_one_or_none()


# The spans the read model keeps: months per row, and the local bucket of an instant.
SPANS = ((1, local_month), (12, local_year))


def _bucket_aggregate() -> Select[*tuple[Any, ...]]:
    """The read model's row (prev_at aside) for one (customer, bucket) given as bound
    parameters, from the counted orders themselves; no row when none is counted."""
    o = OrderRow.__table__.alias("o")
    start, end = bindparam("k_start", type_=UtcDateTime), bindparam("k_end", type_=UtcDateTime)
    return (
        select(
            bindparam("k_customer", type_=BigInteger),
            bindparam("k_months", type_=Integer),
            start,
            end,
            func.count(),
            func.sum(cents(o.c.amount) - cents(o.c.refunded_amount)),
            func.min(o.c.placed_at),
            func.max(o.c.placed_at),
        )
        .where(
            o.c.customer_id == bindparam("k_customer", type_=BigInteger),
            o.c.placed_at >= start,
            o.c.placed_at < end,
            counted(o),
        )
        .having(func.count() > 0)
    )


MONTH_COLUMNS = (
    "customer_id",
    "months",
    "month_start",
    "month_end",
    "orders_count",
    "net_cents",
    "first_at",
    "last_at",
)


async def refresh_order_months(
    session: AsyncSession, touched: Sequence[tuple[int, datetime]]
) -> None:
    """Recomputes the read model's rows for the months and years of `touched`
    (customer id, placed_at of an order refunded or otherwise changed), then the
    prev_at of the customers' later rows (`_refresh_prev_at`): three statements
    whose text is the same for any batch (SQLAlchemy's compiled cache, prepared
    statements) and whose round trips do not grow with it: on PostgreSQL each runs
    once with the keys as arrays (`unnest_rows`), on SQLite each is an executemany
    with one parameter set per (customer, bucket). New orders take the cheaper
    `add_to_order_months`. See SqlOrderRepository.refresh_order_months."""
    if not touched:
        return
    zone = await _months_zone(session)
    if zone is None:
        return
    keys = sorted(
        {
            (customer_id, span, bucket(at, zone))
            for customer_id, at in touched
            for span, bucket in SPANS
        },
        key=lambda k: (k[0], k[2].start, k[1]),
    )
    table = table_of(CustomerMonthRow)
    bucket_params = [
        {"k_customer": c, "k_months": span, "k_start": p.start, "k_end": p.end}
        for c, span, p in keys
    ]
    if is_postgresql(session):
        await _recompute_buckets_postgresql(session, bucket_params)
    else:
        await session.execute(
            delete(table).where(
                table.c.customer_id == bindparam("k_customer", type_=BigInteger),
                table.c.months == bindparam("k_months", type_=Integer),
                table.c.month_start == bindparam("k_start", type_=UtcDateTime),
            ),
            [{k: v for k, v in params.items() if k != "k_end"} for params in bucket_params],
        )
        await session.execute(
            insert(table).from_select(list(MONTH_COLUMNS), _bucket_aggregate()), bucket_params
        )
    await _refresh_prev_at(session, [(c, p.start) for c, _, p in keys])


async def add_to_order_months(session: AsyncSession, orders: Sequence[Order]) -> None:
    """The read model after new orders (orderRecord, ordersRecordBulk, imports):
    each order's contribution to its month and year rows is added to them (one
    INSERT … ON CONFLICT DO UPDATE: count and cents summed, first and last widened)
    rather than the rows recomputed from every order in them, then prev_at as
    `refresh_order_months` keeps it. Exact for orders that are new and counted
    (their whole amount counts); anything else changes rows with
    `refresh_order_months`."""
    zone = await _months_zone(session) if orders else None
    if zone is None:
        return
    sums: dict[tuple[int, int, Period], list[Any]] = {}
    for order in orders:
        if not order.counted or order.refunded_amount:
            raise ValueError("add_to_order_months takes new, unrefunded orders")
        net = int((order.amount * 100).to_integral_exact())
        for span, bucket in SPANS:
            key = (order.customer_id, span, bucket(order.placed_at, zone))
            got = sums.get(key)
            if got is None:
                sums[key] = [1, net, order.placed_at, order.placed_at]
            else:
                got[0] += 1
                got[1] += net
                got[2] = min(got[2], order.placed_at)
                got[3] = max(got[3], order.placed_at)
    keys = sorted(sums, key=lambda k: (k[0], k[2].start, k[1]))
    rows = [
        dict(zip(MONTH_COLUMNS, (c, span, p.start, p.end, *sums[(c, span, p)]), strict=True))
        for c, span, p in keys
    ]
    table = table_of(CustomerMonthRow)
    key_columns = [table.c.customer_id, table.c.months, table.c.month_start]
    if is_postgresql(session):
        u = unnest_rows(typed(table, MONTH_COLUMNS), rows)
        on_pg = postgresql.insert(table).from_select(
            list(MONTH_COLUMNS), select(*(u.c[name] for name in MONTH_COLUMNS))
        )
        await session.execute(
            on_pg.on_conflict_do_update(
                index_elements=key_columns, set_=_added_to(table, on_pg.excluded, "least")
            )
        )
    else:
        on_sqlite = sqlite.insert(table)
        await session.execute(
            on_sqlite.on_conflict_do_update(
                # SQLite's two-argument min() and max() are LEAST and GREATEST.
                index_elements=key_columns,
                set_=_added_to(table, on_sqlite.excluded, "min"),
            ),
            rows,
        )
    await _refresh_prev_at(session, [(c, p.start) for c, _, p in keys])


def _added_to(table: Table, added: Any, least: str) -> dict[str, Any]:
    """A bucket row plus the `added` (excluded) row's orders: counts and cents summed,
    first and last widened (`least`: the database's name for LEAST, whose GREATEST
    is named alike)."""
    greatest = {"least": "greatest", "min": "max"}[least]
    return {
        "orders_count": table.c.orders_count + added.orders_count,
        "net_cents": table.c.net_cents + added.net_cents,
        "first_at": getattr(func, least)(table.c.first_at, added.first_at),
        "last_at": getattr(func, greatest)(table.c.last_at, added.last_at),
    }


async def _months_zone(session: AsyncSession) -> ZoneInfo | None:
    """The zone the read model is cut in (its lock held shared until the
    transaction ends); None before the read model's migration."""
    zone_name = await _order_month_zone(session)
    return None if zone_name is None else ZoneInfo(zone_name)


BUCKET_KEYS: tuple[tuple[str, TypeEngine[Any]], ...] = (
    ("k_customer", BigInteger()),
    ("k_months", Integer()),
    ("k_start", UtcDateTime()),
    ("k_end", UtcDateTime()),
)


async def _recompute_buckets_postgresql(
    session: AsyncSession, buckets: Sequence[dict[str, Any]]
) -> None:
    """The executemany form's DELETE and INSERT, each once with the keys as arrays
    (`unnest_rows`): DELETE … USING, then INSERT … SELECT grouped by bucket (a
    bucket with no counted order gets no row, as HAVING count > 0 does)."""
    table = table_of(CustomerMonthRow)
    k = unnest_rows(BUCKET_KEYS, buckets, alias="k")
    await session.execute(
        delete(table).where(
            table.c.customer_id == k.c.k_customer,
            table.c.months == k.c.k_months,
            table.c.month_start == k.c.k_start,
        )
    )
    o = OrderRow.__table__.alias("o")
    k = unnest_rows(BUCKET_KEYS, buckets, alias="k")
    grouped = (
        select(
            k.c.k_customer,
            k.c.k_months,
            k.c.k_start,
            k.c.k_end,
            func.count(),
            func.sum(cents(o.c.amount) - cents(o.c.refunded_amount)),
            func.min(o.c.placed_at),
            func.max(o.c.placed_at),
        )
        .select_from(
            k.join(
                o,
                and_(
                    o.c.customer_id == k.c.k_customer,
                    o.c.placed_at >= k.c.k_start,
                    o.c.placed_at < k.c.k_end,
                ),
            )
        )
        .where(counted(o))
        .group_by(k.c.k_customer, k.c.k_months, k.c.k_start, k.c.k_end)
    )
    await session.execute(insert(table).from_select(list(MONTH_COLUMNS), grouped))


async def _refresh_prev_at(session: AsyncSession, changed: Sequence[tuple[int, datetime]]) -> None:
    """prev_at of every row of these customers from their earliest changed bucket
    (`changed`: customer id, bucket start) on: an order added or removed there can
    be the "last order before" a later one. Call it once the changed buckets' rows
    are up to date."""
    earliest: dict[int, datetime] = {}
    for customer_id, start in changed:
        if customer_id not in earliest or start < earliest[customer_id]:
            earliest[customer_id] = start
    froms = [{"k_customer": c, "k_from": at} for c, at in sorted(earliest.items())]
    # prev_at from the read model itself. The buckets of one span are disjoint and
    # every counted order is in one, so the last order before a bucket is the
    # previous bucket's last_at (the same lag as `rebuild_order_months`). Only the
    # rows whose prev_at changes are written (an order lands in one bucket and
    # changes at most the next one's). PostgreSQL: one statement for every customer
    # (their keys as arrays); SQLite: an executemany, one customer per parameter set.
    table = table_of(CustomerMonthRow)
    m = table.alias("m")
    if is_postgresql(session):
        f = unnest_rows((("k_customer", BigInteger()), ("k_from", UtcDateTime())), froms, alias="f")
        customer, since = f.c.k_customer, f.c.k_from
        source: FromClause = m.join(f, m.c.customer_id == customer)
        # The customers named again as an array, inside and out: the planner then
        # reads their rows by the key's index instead of hashing the whole table
        # (which grew with it: 1 s a batch at 850,000 rows).
        ids = list(earliest)
        of_customer = one_of(session, m.c.customer_id, ids)  # the join matches each
        outside = one_of(session, table.c.customer_id, ids)
    else:
        customer = bindparam("k_customer", type_=BigInteger)
        since = bindparam("k_from", type_=UtcDateTime)
        source = m
        of_customer = m.c.customer_id == customer
        outside = true()
    lagged = (
        select(
            m.c.customer_id,
            m.c.months,
            m.c.month_start,
            since.label("k_from"),
            func.lag(m.c.last_at)
            .over(partition_by=(m.c.customer_id, m.c.months), order_by=m.c.month_start)
            .label("prev"),
        )
        .select_from(source)
        .where(of_customer)
        .subquery("lagged")
    )
    statement = (
        update(table)
        .where(
            table.c.customer_id == lagged.c.customer_id,
            table.c.months == lagged.c.months,
            table.c.month_start == lagged.c.month_start,
            lagged.c.month_start >= lagged.c.k_from,
            table.c.prev_at.is_distinct_from(lagged.c.prev),
            outside,
        )
        .values(prev_at=lagged.c.prev)
    )
    if is_postgresql(session):
        await session.execute(statement)
    else:
        await session.execute(statement, froms)


async def rebuild_order_months(session: AsyncSession, timezone: str) -> int:
    """Rebuilds the whole read model from the orders, in the months of `timezone`,
    and records that zone: after a change of the program's time zone (and in the
    migration that creates it, and after a bulk load that bypassed the services).
    Three statements; holds the zone lock so no order files a month meanwhile."""
    await _order_month_zone(session, exclusive=True)
    table = table_of(CustomerMonthRow)
    zones = table_of(CustomerMonthZoneRow)
    await session.execute(delete(table))
    await session.execute(delete(zones))
    await session.execute(insert(zones).values(id=MONTH_ZONE_ROW_ID, timezone=timezone))
    o = OrderRow.__table__
    span = (await session.execute(select(func.min(o.c.placed_at), func.max(o.c.placed_at)))).one()
    if span[0] is None:
        return 0
    zone = ZoneInfo(timezone)
    covering = months_covering(span[0], span[1], zone)
    years = sorted({local_year(m.start, zone) for m in covering}, key=lambda p: p.start)
    months = (
        values(
            column("months", Integer),
            column("month_start", UtcDateTime),
            column("month_end", UtcDateTime),
            name="months",
        )
        .data([(1, m.start, m.end) for m in covering] + [(12, y.start, y.end) for y in years])
        .cte("months")
    )
    grouped = (
        select(
            o.c.customer_id,
            months.c.months,
            months.c.month_start,
            months.c.month_end,
            func.count().label("orders_count"),
            func.sum(cents(o.c.amount) - cents(o.c.refunded_amount)).label("net_cents"),
            func.min(o.c.placed_at).label("first_at"),
            func.max(o.c.placed_at).label("last_at"),
        )
        .select_from(
            months.join(
                o, and_(o.c.placed_at >= months.c.month_start, o.c.placed_at < months.c.month_end)
            )
        )
        .where(counted(o))
        .group_by(o.c.customer_id, months.c.months, months.c.month_start, months.c.month_end)
        .subquery("grouped")
    )
    g = grouped
    rows = select(
        *(g.c[name] for name in MONTH_COLUMNS),
        func.lag(g.c.last_at)
        .over(partition_by=(g.c.customer_id, g.c.months), order_by=g.c.month_start)
        .label("prev_at"),
    )
    await session.execute(insert(table).from_select([*MONTH_COLUMNS, "prev_at"], rows))
    return int((await session.execute(select(func.count()).select_from(table))).scalar_one())


async def ensure_order_months_zone(session: AsyncSession, timezone: str) -> None:
    """Rebuilds the read model if it is cut in another zone than `timezone` (the
    program's, just saved): called in the transaction that changes the zone."""
    if await _order_month_zone(session) != timezone:
        await rebuild_order_months(session, timezone)


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
    rows = await session.execute(select(OrderRow).where(one_of(session, OrderRow.id, ids)))
    return {r.id: order_to_domain(r) for r in rows.scalars()}


async def orders_by_external_ids(
    session: AsyncSession, external_ids: Sequence[str]
) -> dict[str, Order]:
    rows = await session.execute(
        select(OrderRow).where(one_of(session, OrderRow.external_id, external_ids))
    )
    return {r.external_id: order_to_domain(r) for r in rows.scalars()}


async def items_of_orders(
    session: AsyncSession, order_ids: Sequence[int]
) -> dict[int, list[OrderItem]]:
    rows = await session.execute(
        select(OrderItemRow)
        .where(one_of(session, OrderItemRow.order_id, order_ids))
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
        .where(one_of(session, RefundRow.order_id, order_ids))
        .order_by(RefundRow.order_id, RefundRow.id)
    )
    found: dict[int, list[Refund]] = {oid: [] for oid in order_ids}
    for r in rows.scalars():
        found[r.order_id].append(refund_to_domain(r))
    return found


register(ORDERS, lambda tx: SqlOrderRepository(tx.session))
