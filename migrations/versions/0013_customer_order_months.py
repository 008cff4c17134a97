"""Per-customer, per-local-month and per-local-year read model of counted orders

The metrics read whole local months (or a whole local year) of every customer from
this table instead of every order (persistence/orders.py keeps it in each order's transaction). This
revision creates it, records the zone its months are cut in (the program's, or UTC
before any program settings exist) and fills it from the orders. The fill is
spelled out here rather than imported, so this revision keeps meaning what it meant
if the application code changes: months are local calendar months, their bounds
local midnights as UTC instants (the earlier instant when ambiguous; a midnight
skipped by a DST jump is the instant the jump lands on).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 22:40:00
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

import persistence.base

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Instant = persistence.base.UtcDateTime(timezone=True)

orders = sa.table(
    "orders",
    sa.column("customer_id", BigId),
    sa.column("amount", sa.Numeric(18, 2)),
    sa.column("refunded_amount", sa.Numeric(18, 2)),
    sa.column("placed_at", Instant),
)
program = sa.table("program_settings", sa.column("id", sa.Integer), sa.column("timezone"))
months_table = sa.table(
    "customer_order_months",
    sa.column("customer_id", BigId),
    sa.column("months", sa.Integer),
    sa.column("month_start", Instant),
    sa.column("month_end", Instant),
    sa.column("orders_count", sa.Integer),
    sa.column("net_cents", sa.BigInteger),
    sa.column("first_at", Instant),
    sa.column("last_at", Instant),
    sa.column("prev_at", Instant),
)
zone_table = sa.table(
    "customer_order_months_zone", sa.column("id", sa.Integer), sa.column("timezone")
)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone, fold=0).astimezone(UTC)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _buckets(
    first: datetime, last: datetime, zone: ZoneInfo
) -> list[tuple[int, datetime, datetime]]:
    """(1, start, end) for every local month and (12, start, end) for every local
    year from a year before `first` to a year after `last`."""
    buckets = []
    for year in range(first.astimezone(zone).year - 1, last.astimezone(zone).year + 2):
        for month in range(1, 13):
            day = date(year, month, 1)
            buckets.append((1, _midnight(day, zone), _midnight(_next_month(day), zone)))
        buckets.append(
            (12, _midnight(date(year, 1, 1), zone), _midnight(date(year + 1, 1, 1), zone))
        )
    return buckets


def _cents(dialect: str, value: sa.ColumnElement) -> sa.ColumnElement:
    if dialect == "sqlite":
        return sa.cast(sa.func.round(value * 100), sa.Integer)
    return sa.cast(value * 100, sa.BigInteger)


def upgrade() -> None:
    op.create_table(
        "customer_order_months",
        sa.Column("customer_id", BigId, nullable=False),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.Column("month_start", Instant, nullable=False),
        sa.Column("month_end", Instant, nullable=False),
        sa.Column("orders_count", sa.Integer(), nullable=False),
        sa.Column("net_cents", sa.BigInteger(), nullable=False),
        sa.Column("first_at", Instant, nullable=False),
        sa.Column("last_at", Instant, nullable=False),
        sa.Column("prev_at", Instant, nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_order_months_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint(
            "customer_id", "months", "month_start", name=op.f("pk_customer_order_months")
        ),
    )
    op.create_table(
        "customer_order_months_zone",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_order_months_zone")),
    )
    connection = op.get_bind()
    dialect = connection.dialect.name
    timezone = (
        connection.execute(
            sa.select(program.c.timezone).where(program.c.id == 1)
        ).scalar_one_or_none()
        or "UTC"
    )
    connection.execute(sa.insert(zone_table).values(id=1, timezone=timezone))
    first, last = connection.execute(
        sa.select(sa.func.min(orders.c.placed_at), sa.func.max(orders.c.placed_at))
    ).one()
    if first is not None:
        bounds = (
            sa.values(
                sa.column("months", sa.Integer),
                sa.column("month_start", Instant),
                sa.column("month_end", Instant),
                name="m",
            )
            .data(_buckets(first, last, ZoneInfo(timezone)))
            .cte("m")
        )
        o = orders
        grouped = (
            sa.select(
                o.c.customer_id,
                bounds.c.months,
                bounds.c.month_start,
                bounds.c.month_end,
                sa.func.count().label("orders_count"),
                sa.func.sum(
                    _cents(dialect, o.c.amount) - _cents(dialect, o.c.refunded_amount)
                ).label("net_cents"),
                sa.func.min(o.c.placed_at).label("first_at"),
                sa.func.max(o.c.placed_at).label("last_at"),
            )
            .select_from(
                bounds.join(
                    o,
                    sa.and_(
                        o.c.placed_at >= bounds.c.month_start, o.c.placed_at < bounds.c.month_end
                    ),
                )
            )
            .where(o.c.refunded_amount < o.c.amount)
            .group_by(o.c.customer_id, bounds.c.months, bounds.c.month_start, bounds.c.month_end)
            .subquery("g")
        )
        columns = [
            "customer_id",
            "months",
            "month_start",
            "month_end",
            "orders_count",
            "net_cents",
            "first_at",
            "last_at",
        ]
        rows = sa.select(
            *(grouped.c[name] for name in columns),
            sa.func.lag(grouped.c.last_at)
            .over(
                partition_by=(grouped.c.customer_id, grouped.c.months),
                order_by=grouped.c.month_start,
            )
            .label("prev_at"),
        )
        connection.execute(sa.insert(months_table).from_select([*columns, "prev_at"], rows))
    # Built after the fill: one sort instead of an insert per row.
    with op.batch_alter_table("customer_order_months", schema=None) as batch_op:
        batch_op.create_index(
            "ix_customer_order_months_months_month_start",
            [
                "months",
                "month_start",
                "customer_id",
                "month_end",
                "orders_count",
                "net_cents",
                "first_at",
                "last_at",
                "prev_at",
            ],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("customer_order_months", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_order_months_months_month_start")
    op.drop_table("customer_order_months_zone")
    op.drop_table("customer_order_months")
