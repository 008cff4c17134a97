"""Saved segments, their repository, and the rule compiler: checked rule → SQL.

The compiler turns a `domain.segment_rules.Rule` into one SQLAlchemy boolean
expression over `customers`, outer-joined (only when the rule needs it) to
`classification_query(as_of, program)` for the order-derived values. Every value of
the rule is a bound parameter; no rule text ever becomes SQL text.

Every comparison compiles to TRUE or FALSE, never NULL (see the language's docstring:
`=`/`<`/`IN` never match an unknown value, `!=`/`NOT IN` always do), so `NOT` is an
exact complement.

What each field reads, as of the instant `as_of`:
- orders_count, total_spent, first/last_order_at, lifecycle, rfm_class, r/f/m_score:
  the classification query (counted orders placed at or before `as_of`).
- average_order_value: compared without dividing, `net_spent OP v × orders_count`
  for customers with orders (exact on both databases, no integer division).
- category_spent("c"): Σ quantity × unit_price of the items of category `c` (case
  ignored) in counted orders placed at or before `as_of`. Refunds are recorded per
  order, not per item, so partial refunds are not taken off item spend: the value is
  gross item spend of orders that still count.
- points_balance, tier, tag, city, channel, name, gender, birthday_month,
  created_at, attributes: the customer's current values (they have no history to
  take as of; created_at is compared as it is).
- Text comparisons (city, channel, name, tier, category, text attributes) ignore
  case; SQLite's lower() folds ASCII letters only.
- Erased customers belong to no segment.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import (
    Integer,
    Numeric,
    String,
    Text,
    and_,
    case,
    cast,
    delete,
    exists,
    extract,
    func,
    literal,
    not_,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from domain.customers import Customer
from domain.program import ProgramSettings
from domain.segment_rules import (
    THIS_MONTH,
    AllOf,
    AnyOf,
    Condition,
    FieldType,
    NoneOf,
    Relative,
    Rule,
    RuleErrors,
    RuleNode,
    parse_rule,
)
from domain.segments import BUILT_IN_SEGMENTS, Segment
from persistence.base import Base
from persistence.classification import classification_query, counted_orders
from persistence.customers import CustomerRow
from persistence.customers import to_domain as customer_to_domain
from persistence.orders import OrderItemRow, OrderRow
from persistence.pagination import Page, SortKey, keyset, page_of
from persistence.program import load_program
from persistence.tags import CustomerTagRow, TagRow
from persistence.tiers import TierRow
from persistence.types import BigId, UtcDateTime

MONEY = Numeric(18, 2)


class SegmentRow(Base):
    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    name_key: Mapped[str] = mapped_column(String(100), unique=True)
    rule: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


def to_domain(row: SegmentRow) -> Segment:
    return Segment(
        id=row.id,
        name=row.name,
        rule=row.rule,
        description=row.description,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class SqlSegmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, segment_id: int, *, for_update: bool = False) -> Segment | None:
        statement = select(SegmentRow).where(SegmentRow.id == segment_id)
        if for_update:
            statement = statement.with_for_update()
        row = (await self.session.execute(statement)).scalar_one_or_none()
        return to_domain(row) if row else None

    async def by_key(self, key: str) -> Segment | None:
        row = (
            await self.session.execute(select(SegmentRow).where(SegmentRow.name_key == key))
        ).scalar_one_or_none()
        return to_domain(row) if row else None

    async def add(self, segment: Segment) -> Segment:
        row = SegmentRow(
            name=segment.name,
            name_key=segment.key,
            rule=segment.rule,
            description=segment.description,
            created_at=segment.created_at,
            updated_at=segment.updated_at,
        )
        self.session.add(row)
        await self.session.flush()
        segment.id = row.id
        return segment

    async def save(self, segment: Segment) -> None:
        await self.session.execute(
            update(SegmentRow)
            .where(SegmentRow.id == segment.id)
            .values(
                name=segment.name,
                name_key=segment.key,
                rule=segment.rule,
                description=segment.description,
                updated_at=segment.updated_at,
            )
        )

    async def delete(self, segment_id: int) -> None:
        await self.session.execute(delete(SegmentRow).where(SegmentRow.id == segment_id))


# ---- the compiler ------------------------------------------------------------------------


_ORDERING: dict[str, Callable] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_NEGATIVE = ("!=", "NOT IN")


@dataclass(frozen=True)
class RuleContext:
    as_of: datetime
    program: ProgramSettings
    dialect: str
    classification: object | None = None  # the joined classification subquery


def _compare(
    column: ColumnElement, op: str, values: Sequence[ColumnElement], *, nullable: bool = True
) -> ColumnElement[bool]:
    """`column op values`, TRUE or FALSE even when the column is NULL."""
    if op == "IN":
        clause = column.in_(list(values))
    elif op == "NOT IN":
        clause = column.not_in(list(values))
    else:
        clause = _ORDERING[op](column, values[0])
    if not nullable:
        return clause
    if op in _NEGATIVE:
        return or_(column.is_(None), clause)
    return and_(column.is_not(None), clause)


def _number(value: Decimal) -> ColumnElement:
    if value == value.to_integral():
        return literal(int(value), Integer())
    return literal(value, MONEY)


def _money(value: Decimal) -> ColumnElement:
    return literal(value, MONEY)


def _instant(value: datetime) -> ColumnElement:
    return literal(value, UtcDateTime())


class _Compiler:
    def __init__(self, ctx: RuleContext) -> None:
        self.ctx = ctx
        self.cls = ctx.classification

    def node(self, node: RuleNode) -> ColumnElement[bool]:
        if isinstance(node, AllOf):
            return and_(*(self.node(item) for item in node.items))
        if isinstance(node, AnyOf):
            return or_(*(self.node(item) for item in node.items))
        if isinstance(node, NoneOf):
            return not_(self.node(node.item))
        return self.condition(node)

    def condition(self, c: Condition) -> ColumnElement[bool]:
        name = c.field.name
        cls = self.cls
        if name == "orders_count":
            return _compare(cls.c.orders_count, c.op, [_number(v) for v in c.values])
        if name == "total_spent":
            return _compare(cls.c.net_spent, c.op, [_money(v) for v in c.values])
        if name == "average_order_value":
            return self.average_order_value(c)
        if name == "points_balance":
            return _compare(CustomerRow.points_balance, c.op, [_number(v) for v in c.values])
        if name in ("r_score", "f_score", "m_score"):
            return _compare(cls.c[name], c.op, [_number(v) for v in c.values])
        if name in ("first_order_at", "last_order_at"):
            return self.instant(cls.c[name], c)
        if name == "created_at":
            return self.instant(CustomerRow.created_at, c)
        if name == "lifecycle":
            stage = func.coalesce(cls.c.lifecycle, "PROSPECT")
            return _compare(stage, c.op, [literal(v) for v in c.values], nullable=False)
        if name == "rfm_class":
            return _compare(cls.c.rfm_class, c.op, [literal(v) for v in c.values])
        if name == "gender":
            return _compare(CustomerRow.gender, c.op, [literal(v) for v in c.values])
        if name in ("city", "channel", "name"):
            column = {
                "city": CustomerRow.city,
                "channel": CustomerRow.acquisition_channel,
                "name": CustomerRow.name,
            }[name]
            return _compare(
                func.lower(column), c.op, [literal(str(v).lower(), String()) for v in c.values]
            )
        if name == "tag":
            return self.tag(c)
        if name == "tier":
            return self.tier(c)
        if name == "birthday_month":
            return self.birthday_month(c)
        if name == "category_spent":
            return _compare(
                self.category_spent(c.argument or ""),
                c.op,
                [_money(v) for v in c.values],
                nullable=False,
            )
        if c.field.type is FieldType.ATTRIBUTE:
            return self.attribute(c)
        raise ValueError(f"no compiler for field {name}")  # the catalogue and this agree

    def average_order_value(self, c: Condition) -> ColumnElement[bool]:
        count, net = self.cls.c.orders_count, self.cls.c.net_spent
        has_orders = count > 0

        def one(op: str, value: Decimal) -> ColumnElement[bool]:
            return and_(has_orders, _ORDERING[op](net, _money(value) * count))

        if c.op == "IN":
            return or_(*(one("=", v) for v in c.values))
        if c.op == "NOT IN":
            return not_(or_(*(one("=", v) for v in c.values)))
        if c.op == "!=":
            return not_(one("=", c.values[0]))
        return one(c.op, c.values[0])

    def instant(self, column: ColumnElement, c: Condition) -> ColumnElement[bool]:
        value = c.values[0]
        if isinstance(value, Relative):
            return _compare(column, c.op, [_instant(self.ctx.as_of + value.delta)])
        zone = self.ctx.program.zone
        start = datetime.combine(value, time(), zone).astimezone(UTC)
        end = datetime.combine(value + timedelta(days=1), time(), zone).astimezone(UTC)
        start_at, end_at = _instant(start), _instant(end)
        if c.op == "=":
            return and_(column.is_not(None), column >= start_at, column < end_at)
        if c.op == "!=":
            return or_(column.is_(None), column < start_at, column >= end_at)
        bound = {"<": ("<", start_at), "<=": ("<", end_at), ">": (">=", end_at)}
        op, at = bound.get(c.op, (">=", start_at))
        return _compare(column, op, [at])

    def tag(self, c: Condition) -> ColumnElement[bool]:
        keys = sorted({str(v).strip().casefold() for v in c.values})
        wears = exists().where(
            CustomerTagRow.customer_id == CustomerRow.id,
            CustomerTagRow.tag_id == TagRow.id,
            TagRow.name_key.in_(keys),
        )
        return not_(wears) if c.op in _NEGATIVE else wears

    def tier(self, c: Condition) -> ColumnElement[bool]:
        names = [str(v).strip().lower() for v in c.values]
        if c.op in ("<", "<=", ">", ">="):
            rank = (
                select(TierRow.rank).where(func.lower(TierRow.name) == names[0]).scalar_subquery()
            )
            tiers = select(TierRow.id).where(_ORDERING[c.op](TierRow.rank, rank))
        else:
            tiers = select(TierRow.id).where(func.lower(TierRow.name).in_(names))
        inside = CustomerRow.tier_id.in_(tiers)
        if c.op in _NEGATIVE:
            return or_(CustomerRow.tier_id.is_(None), not_(inside))
        return and_(CustomerRow.tier_id.is_not(None), inside)

    def birthday_month(self, c: Condition) -> ColumnElement[bool]:
        this_month = self.ctx.as_of.astimezone(self.ctx.program.zone).month
        months = [
            literal(this_month if v == THIS_MONTH else int(v), Integer())  # type: ignore[arg-type]
            for v in c.values
        ]
        return _compare(extract("month", CustomerRow.birthday), c.op, months)

    def category_spent(self, category: str) -> ColumnElement:
        spent = (
            select(
                func.coalesce(
                    func.sum(OrderItemRow.quantity * OrderItemRow.unit_price, type_=MONEY),
                    literal(Decimal(0), MONEY),
                    type_=MONEY,
                )
            )
            .select_from(OrderItemRow)
            .join(OrderRow, OrderRow.id == OrderItemRow.order_id)
            .where(
                OrderItemRow.customer_id == CustomerRow.id,
                func.lower(OrderItemRow.category) == literal(category.strip().lower(), String()),
                counted_orders(self.ctx.as_of),
            )
            .scalar_subquery()
        )
        return spent

    def attribute(self, c: Condition) -> ColumnElement[bool]:
        key = c.argument or ""
        sample = c.values[0]
        if self.ctx.dialect == "postgresql":
            node = CustomerRow.attributes.op("->")(literal(key, String()))
            kind = func.coalesce(func.jsonb_typeof(node), "")
            text = CustomerRow.attributes.op("->>", return_type=String())(literal(key, String()))
            number = case((kind == "number", cast(text, Numeric())), else_=None)
            is_true = and_(kind == "boolean", text == "true")
            is_false = and_(kind == "boolean", text == "false")
            text_value = case((kind == "string", text), else_=None)
        else:
            path = literal(f'$."{key}"', String())
            kind = func.coalesce(func.json_type(CustomerRow.attributes, path), "")
            raw = func.json_extract(CustomerRow.attributes, path)
            number = case((kind.in_(("integer", "real")), raw), else_=None)
            is_true = kind == "true"
            is_false = kind == "false"
            text_value = case((kind == "text", raw), else_=None)
        if isinstance(sample, bool):
            matches = is_true if sample else is_false
            return not_(matches) if c.op == "!=" else matches
        if isinstance(sample, Decimal):
            return _compare(number, c.op, [_number(v) for v in c.values])
        return _compare(
            func.lower(text_value), c.op, [literal(str(v).lower(), String()) for v in c.values]
        )


def rule_context(
    rule: Rule, as_of: datetime, program: ProgramSettings, dialect: str
) -> RuleContext:
    classification = None
    if rule.uses_orders:
        classification = classification_query(as_of, program).subquery("classification")
    return RuleContext(as_of, program, dialect, classification)


def rule_clause(rule: Rule, ctx: RuleContext) -> ColumnElement[bool]:
    return _Compiler(ctx).node(rule.root)


def _with_classification(statement, ctx: RuleContext):  # noqa: ANN001, ANN202
    if ctx.classification is None:
        return statement
    cls = ctx.classification
    return statement.outerjoin(cls, cls.c.customer_id == CustomerRow.id)


def members_statement(rule: Rule, ctx: RuleContext, *columns: object):  # noqa: ANN201
    """SELECT columns FROM customers (⋈ classification) WHERE live AND rule."""
    statement = _with_classification(select(*columns).select_from(CustomerRow), ctx)
    return statement.where(CustomerRow.erased_at.is_(None), rule_clause(rule, ctx))


# ---- reads for the API -------------------------------------------------------------------

MEMBER_SORT = SortKey((CustomerRow.id,))


def _dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name


async def segment_members(
    session: AsyncSession,
    rule: Rule,
    as_of: datetime,
    defaults: ProgramSettings,
    after: Sequence | None,
    first: int,
) -> Page[Customer]:
    program = await load_program(session, defaults)
    ctx = rule_context(rule, as_of, program, _dialect(session))
    statement = keyset(members_statement(rule, ctx, CustomerRow), MEMBER_SORT, after, first)
    rows = (await session.execute(statement)).scalars().all()
    page = page_of(rows, first, lambda r: (r.id,))
    return Page([customer_to_domain(r) for r in page.items], page.keys, page.has_next)


async def segment_count(
    session: AsyncSession, rule: Rule, as_of: datetime, defaults: ProgramSettings
) -> int:
    program = await load_program(session, defaults)
    ctx = rule_context(rule, as_of, program, _dialect(session))
    statement = members_statement(rule, ctx, func.count())
    return (await session.execute(statement)).scalar_one()


async def saved_segments(session: AsyncSession) -> list[Segment]:
    rows = await session.execute(select(SegmentRow).order_by(SegmentRow.name_key, SegmentRow.id))
    return [to_domain(r) for r in rows.scalars()]


async def all_segments(session: AsyncSession) -> list[Segment]:
    """Built-in segments first (lifecycle, then RFM), then saved ones by name."""
    return [*BUILT_IN_SEGMENTS, *await saved_segments(session)]


async def segments_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, Segment]:
    rows = await session.execute(select(SegmentRow).where(SegmentRow.id.in_(list(ids))))
    return {r.id: to_domain(r) for r in rows.scalars()}


def _parsed(segment: Segment) -> Rule | None:
    """A saved rule parses (it was checked when saved); one that no longer does (the
    language dropped a field) matches nobody rather than failing every read."""
    try:
        return parse_rule(segment.rule)
    except RuleErrors:
        return None


async def segments_of_customers(
    session: AsyncSession,
    keys: Sequence[tuple[int, datetime]],
    defaults: ProgramSettings,
) -> dict[tuple[int, datetime], list[Segment]]:
    """Which segments each (customer, as-of) is in: one SELECT per distinct as-of,
    with one boolean column per segment, for the whole batch of customers."""
    program = await load_program(session, defaults)
    dialect = _dialect(session)
    segments = [(s, _parsed(s)) for s in await all_segments(session)]
    segments = [(s, r) for s, r in segments if r is not None]
    result: dict[tuple[int, datetime], list[Segment]] = {key: [] for key in keys}
    by_as_of: dict[datetime, list[int]] = {}
    for customer_id, as_of in keys:
        by_as_of.setdefault(as_of, []).append(customer_id)
    for as_of, customer_ids in by_as_of.items():
        if not segments:
            continue
        needs_orders = any(rule.uses_orders for _, rule in segments)
        cls = classification_query(as_of, program).subquery("classification")
        ctx = RuleContext(as_of, program, dialect, cls if needs_orders else None)
        columns = [
            case((rule_clause(rule, ctx), 1), else_=0).label(f"s{index}")
            for index, (_, rule) in enumerate(segments)
        ]
        statement = _with_classification(
            select(CustomerRow.id, *columns).select_from(CustomerRow), ctx
        ).where(
            CustomerRow.id.in_(list(dict.fromkeys(customer_ids))),
            CustomerRow.erased_at.is_(None),
        )
        for row in (await session.execute(statement)).all():
            result[(row[0], as_of)] = [
                segment for index, (segment, _) in enumerate(segments) if row[index + 1]
            ]
    return result
