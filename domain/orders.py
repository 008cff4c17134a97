"""Orders: what a storefront or partner records, and what follows from it.

Recording an order is idempotent on its `externalId` alone: the same externalId with
the same customer and amount replays the first result and writes nothing; with a
different customer or amount it is refused (IDEMPOTENCY_CONFLICT). In the same
transaction: the customer is created on first sight (when profile fields come with
it), the customer's order statistics are brought up to date, points are earned into
a lot, the tier is upgraded if a threshold was crossed, and the events are appended.

An order's statistics count only *counted* orders: those not refunded in full.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from domain import referrals, tiers
from domain.clock import Clock
from domain.customers import (
    CUSTOMERS,
    MAX_EXTERNAL_ID,
    Customer,
    CustomerRef,
    find_or_prepare,
)
from domain.earning_rules import service as earning
from domain.earning_rules.evaluate import Breakdown, BreakdownLine, Cart, reversal_by_line
from domain.earning_rules.service import EARNING_RULES, reversal_parts
from domain.errors import DomainError, ErrorCode, ErrorCollector, present
from domain.events import EVENTS, Event, EventType
from domain.fields import MAX_LIST_ITEMS, optional_text, required_text
from domain.idempotency import (
    IDEMPOTENCY,
    fingerprint,
    remembered_result,
    retrying,
)
from domain.money import parse_money
from domain.points import (
    POINTS,
    EntryKind,
    LedgerEntry,
    lot_dates,
)
from domain.program import PROGRAM, ProgramSettings
from domain.unit_of_work import Port, UnitOfWork, UnitOfWorkFactory

# Orders may be stamped a little ahead of our clock by a storefront's clock.
CLOCK_SKEW = timedelta(minutes=5)
MAX_AMOUNT = Decimal("100000000")


@dataclass
class OrderItem:
    sku: str
    quantity: int
    unit_price: Decimal
    name: str | None = None
    category: str | None = None


@dataclass
class Order:
    id: int | None
    customer_id: int
    external_id: str
    amount: Decimal
    currency: str
    placed_at: datetime
    channel: str | None
    award_points: bool
    request_hash: str
    created_at: datetime
    refunded_amount: Decimal = Decimal(0)
    points_earned: int = 0
    points_reversed: int = 0
    items: list[OrderItem] = field(default_factory=list)

    @property
    def net_amount(self) -> Decimal:
        return self.amount - self.refunded_amount

    @property
    def counted(self) -> bool:
        return self.refunded_amount < self.amount


@dataclass
class Refund:
    id: int | None
    order_id: int
    customer_id: int
    amount: Decimal
    points_reversed: int
    created_at: datetime


@dataclass(frozen=True)
class RecordOrder:
    external_id: str
    customer: CustomerRef
    amount: Any
    currency: str
    placed_at: datetime
    channel: str | None = None
    items: Sequence[OrderItem] = ()
    award_points: bool = True
    api_key_id: int | None = None


@dataclass(frozen=True)
class RecordResult:
    order: Order
    customer: Customer
    replayed: bool
    entries: list[LedgerEntry] = field(default_factory=list)


@dataclass(frozen=True)
class PreviewResult:
    """What `record` would award this cart now: `customer_id` None for a customer
    the order would create."""

    customer_id: int | None
    breakdown: Breakdown


@dataclass(frozen=True)
class RefundOrder:
    order_external_id: str
    amount: Any
    idempotency_key: str
    api_key_id: int | None = None


@dataclass(frozen=True)
class RefundResult:
    order: Order
    refund: Refund
    replayed: bool


class OrderRepository(Protocol):
    async def get(self, order_id: int) -> Order | None: ...
    async def get_by_external_id(self, external_id: str) -> Order | None: ...
    async def add(self, order: Order) -> Order: ...
    async def save(self, order: Order) -> None: ...
    async def add_refund(self, refund: Refund) -> Refund: ...
    async def get_refund(self, refund_id: int) -> Refund | None: ...
    async def refresh_customer_stats(self, customer_id: int) -> None: ...


ORDERS: Port[OrderRepository] = Port("orders")


def check_items(items: Sequence[OrderItem], errors: ErrorCollector) -> list[OrderItem]:
    if len(items) > MAX_LIST_ITEMS:
        errors.add(
            ErrorCode.TOO_MANY,
            ("items",),
            f"items has {len(items)} entries; the limit is {MAX_LIST_ITEMS}.",
        )
        return []
    clean = []
    for index, item in enumerate(items):
        path = ("items", str(index))
        try:
            sku = required_text(item.sku, (*path, "sku"), max_length=128)
            name = optional_text(item.name, (*path, "name"), max_length=200)
            category = optional_text(item.category, (*path, "category"), max_length=100)
            if item.quantity <= 0 or item.quantity > 1_000_000:
                raise DomainError(
                    ErrorCode.INVALID, (*path, "quantity"), "quantity must be 1 or more."
                )
            price = parse_money(item.unit_price, (*path, "unit_price"), high=MAX_AMOUNT)
            clean.append(OrderItem(sku, item.quantity, price, name, category))
        except DomainError as exc:
            errors.capture(exc)
    return clean


class OrderService:
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

    # ---- orderRecord ---------------------------------------------------------------

    async def record(self, command: RecordOrder) -> RecordResult:
        return await retrying(lambda: self._record_once(command))

    async def preview(self, command: RecordOrder) -> PreviewResult:
        """What `record` would award this cart now, by the very same decision, writing
        nothing (no budget is held: a concurrent order may still spend it first). The
        order's externalId is not needed and not checked for replays."""
        now = self.clock.now()
        async with self.uow_factory() as uow:
            program = await uow.repo(PROGRAM).get()
            probe = replace(command, external_id=command.external_id or "preview")
            _, amount, _, channel, items = self._validate(probe, program, now)
            customer, created = await self._customer(uow, command.customer, now)
            cart = Cart(amount, command.placed_at, channel, items)
            if command.award_points:
                breakdown = await earning.decide(uow, cart, customer, program, lock=False)
            else:
                breakdown = Breakdown(BreakdownLine(None, amount, 0, 0))
            return PreviewResult(None if created else customer.id, breakdown)

    def _validate(
        self, command: RecordOrder, program: ProgramSettings, now: datetime
    ) -> tuple[str, Decimal, str, str | None, list[OrderItem]]:
        errors = ErrorCollector()
        external_id = amount = None
        try:
            external_id = required_text(
                command.external_id, ("external_id",), max_length=MAX_EXTERNAL_ID
            )
        except DomainError as exc:
            errors.capture(exc)
        try:
            amount = parse_money(command.amount, ("amount",), positive=True, high=MAX_AMOUNT)
        except DomainError as exc:
            errors.capture(exc)
        currency = (command.currency or "").strip().upper()
        if currency != program.currency:
            errors.add(
                ErrorCode.CURRENCY_MISMATCH,
                ("currency",),
                f"This program keeps accounts in {program.currency}; the order is in "
                f"{currency or 'no currency'}. Convert it before recording.",
            )
        if command.placed_at.tzinfo is None:
            errors.add(ErrorCode.INVALID, ("placed_at",), "placedAt needs a UTC offset.")
        elif command.placed_at > now + CLOCK_SKEW:
            errors.add(ErrorCode.INVALID, ("placed_at",), "placedAt is in the future.")
        channel = None
        try:
            channel = optional_text(command.channel, ("channel",), max_length=64)
        except DomainError as exc:
            errors.capture(exc)
        ref = command.customer
        if (ref.id is None) == (ref.external_id is None):
            errors.add(
                ErrorCode.REQUIRED,
                ("customer",),
                "Name the customer by exactly one of id and externalId.",
            )
        items = check_items(command.items, errors)
        errors.raise_if_any()
        return (
            present(external_id, "externalId"),
            present(amount, "amount"),
            currency,
            channel,
            items,
        )

    async def _record_once(self, command: RecordOrder) -> RecordResult:
        now = self.clock.now()
        async with self.uow_factory() as uow:
            program = await uow.repo(PROGRAM).get()
            external_id, amount, currency, channel, items = self._validate(command, program, now)
            customer, created = await self._customer(uow, command.customer, now)
            if not created:
                customer = (
                    await referrals.lock_with_referrer(
                        uow, present(customer.id, "customer id"),
                        settles=referrals.ReferralStatus.PENDING,
                    )
                    or customer
                )
            existing = await uow.repo(ORDERS).get_by_external_id(external_id)
            if existing is not None:
                if created or existing.request_hash != fingerprint(customer.id, str(amount)):
                    raise DomainError(
                        ErrorCode.IDEMPOTENCY_CONFLICT,
                        ("external_id",),
                        "An order with this externalId was recorded for another customer "
                        "or amount.",
                    )
                return RecordResult(existing, customer, replayed=True)
            cart = Cart(amount, command.placed_at, channel, items)
            # Decided before the order is added, so its facts (first order, segments)
            # are the ones a preview of the same cart sees.
            breakdown = (
                await earning.decide(uow, cart, customer, program, lock=True)
                if command.award_points
                else None
            )
            if created:
                customer = await uow.repo(CUSTOMERS).add(customer)
                await uow.repo(EVENTS).append(
                    Event(
                        EventType.CUSTOMER_CREATED,
                        customer.id,
                        now,
                        {"externalId": customer.external_id},
                    )
                )
            customer_id = present(customer.id, "customer id")
            request_hash = fingerprint(customer_id, str(amount))
            order = await uow.repo(ORDERS).add(
                Order(
                    id=None,
                    customer_id=customer_id,
                    external_id=external_id,
                    amount=amount,
                    currency=currency,
                    placed_at=command.placed_at,
                    channel=channel,
                    award_points=command.award_points,
                    request_hash=request_hash,
                    created_at=now,
                    items=items,
                )
            )
            await uow.repo(ORDERS).refresh_customer_stats(customer_id)
            entries: list[LedgerEntry] = []
            if breakdown is not None and breakdown.total > 0:
                entries = await self._earn(uow, order, breakdown, program, now, command.api_key_id)
            await uow.repo(EVENTS).append(
                Event(
                    EventType.ORDER_RECORDED,
                    customer_id,
                    now,
                    {
                        "orderExternalId": order.external_id,
                        "amount": str(order.amount),
                        "currency": order.currency,
                        "placedAt": order.placed_at.isoformat(),
                        "pointsEarned": order.points_earned,
                    },
                )
            )
            await referrals.qualify_on_order(uow, order, program, now)
            await tiers.upgrade_after_order(uow, customer_id, program, now)
            # Statistics, balance and tier as this transaction left them.
            refreshed = await uow.repo(CUSTOMERS).get(customer_id)
            await uow.commit()
            return RecordResult(order, refreshed or customer, replayed=False, entries=entries)

    async def _earn(
        self,
        uow: UnitOfWork,
        order: Order,
        breakdown: Breakdown,
        program: ProgramSettings,
        now: datetime,
        api_key_id: int | None,
    ) -> list[LedgerEntry]:
        """One EARN lot per line of the breakdown (the base, then each rule's, linked
        to its rule), all with the order's dates; the breakdown is kept with the order
        and the rules' budgets spent."""
        account = await uow.repo(POINTS).load_account(order.customer_id)
        # An order stamped a little ahead of our clock (CLOCK_SKEW) starts its lot now:
        # otherwise pending_days=0 would leave its points pending until the next job.
        available_at, expires_at = lot_dates(
            min(order.placed_at, now), program.pending_days, program.expiry_days
        )
        entries: list[LedgerEntry] = []
        for line in breakdown.awarded:
            entry = account.credit(
                EntryKind.EARN,
                line.points,
                now=now,
                available_at=available_at,
                expires_at=expires_at,
                reason=f"order {order.external_id}"
                + ("" if line.rule_id is None else " (earning rule)"),
                order_id=order.id,
                rule_id=line.rule_id,
            )
            if entry is not None:
                entry.api_key_id = api_key_id
                entries.append(entry)
        await uow.repo(POINTS).save_account(account, entries)
        order.points_earned = breakdown.total
        await uow.repo(ORDERS).save(order)
        order_id = present(order.id, "order id")
        await earning.keep(uow, order_id, order.customer_id, order.placed_at, breakdown)
        if entries:
            await uow.repo(EVENTS).append(
                Event(
                    EventType.POINTS_EARNED,
                    order.customer_id,
                    now,
                    {
                        "points": sum(e.points for e in entries),
                        "orderExternalId": order.external_id,
                        "balance": entries[-1].balance_after,
                    },
                )
            )
        return entries

    async def _customer(
        self, uow: UnitOfWork, ref: CustomerRef, now: datetime
    ) -> tuple[Customer, bool]:
        """The order's customer, not locked yet (the caller locks it with its
        referrer, in id order); or a new one (not yet added) and True."""
        return await find_or_prepare(
            uow.repo(CUSTOMERS),
            ref,
            now,
            phone_region=self.phone_region,
            path=("customer",),
            lock=False,
        )

    # ---- orderRefund ---------------------------------------------------------------

    async def refund(self, command: RefundOrder) -> RefundResult:
        return await retrying(lambda: self._refund_once(command))

    async def _refund_once(self, command: RefundOrder) -> RefundResult:
        errors = ErrorCollector()
        amount = key = None
        try:
            amount = parse_money(command.amount, ("amount",), positive=True, high=MAX_AMOUNT)
        except DomainError as exc:
            errors.capture(exc)
        try:
            key = required_text(command.idempotency_key, ("idempotency_key",), max_length=128)
        except DomainError as exc:
            errors.capture(exc)
        errors.raise_if_any()
        amount, key = present(amount, "amount"), present(key, "idempotencyKey")
        order_external_id = (command.order_external_id or "").strip()
        request_hash = fingerprint(order_external_id, str(amount))
        now = self.clock.now()
        async with self.uow_factory() as uow:
            found = await uow.repo(ORDERS).get_by_external_id(order_external_id)
            if found is None:
                raise DomainError(
                    ErrorCode.NOT_FOUND,
                    ("order_external_id",),
                    "No order has this externalId.",
                )
            await referrals.lock_with_referrer(
                uow, found.customer_id, settles=referrals.ReferralStatus.QUALIFIED
            )
            order_id = present(found.id, "order id")
            order = present(await uow.repo(ORDERS).get(order_id), "order")
            remembered = await remembered_result(
                uow.repo(IDEMPOTENCY), "orderRefund", key, request_hash
            )
            if remembered is not None:
                refund = await uow.repo(ORDERS).get_refund(remembered["refundId"])
                return RefundResult(order, present(refund, "refund"), replayed=True)
            remaining = order.amount - order.refunded_amount
            if amount > remaining:
                raise DomainError(
                    ErrorCode.REFUND_EXCEEDS_ORDER,
                    ("amount",),
                    f"Only {remaining} {order.currency} of this order is left to refund.",
                )
            reverse = 0
            shares: dict[int | None, int] = {}
            if order.points_earned:
                # Each line of the breakdown (base, each rule) gives back its own share,
                # floored cumulatively, so the order never gives back more than it got.
                kept = await uow.repo(EARNING_RULES).breakdown_of(order_id)
                by_line = reversal_by_line(
                    reversal_parts(order.points_earned, kept),
                    order.amount,
                    order.refunded_amount,
                    amount,
                )
                rule_ids = [None, *(line.rule_id for line in kept if line.rule_id is not None)]
                shares = dict(zip(rule_ids, by_line, strict=True))
                reverse = sum(by_line)
            order = replace(
                order,
                refunded_amount=order.refunded_amount + amount,
                points_reversed=order.points_reversed + reverse,
            )
            await uow.repo(ORDERS).save(order)
            refund = await uow.repo(ORDERS).add_refund(
                Refund(None, order_id, order.customer_id, amount, reverse, now)
            )
            await uow.repo(IDEMPOTENCY).remember(
                "orderRefund", key, request_hash, {"refundId": refund.id}, now
            )
            await uow.repo(ORDERS).refresh_customer_stats(order.customer_id)
            if reverse:
                account = await uow.repo(POINTS).load_account(order.customer_id)
                entry = account.reverse_for_refund(
                    reverse, order_id, now, f"refund of order {order.external_id}", shares
                )
                entries = [entry] if entry else []
                for e in entries:
                    e.idempotency_key = key
                    e.api_key_id = command.api_key_id
                await uow.repo(POINTS).save_account(account, entries)
            if not order.counted:
                await referrals.reverse_on_full_refund(uow, order, now)
            await uow.repo(EVENTS).append(
                Event(
                    EventType.ORDER_REFUNDED,
                    order.customer_id,
                    now,
                    {
                        "orderExternalId": order.external_id,
                        "amount": str(amount),
                        "refundedTotal": str(order.refunded_amount),
                        "fullyRefunded": not order.counted,
                        "pointsReversed": reverse,
                    },
                )
            )
            await uow.commit()
            return RefundResult(order, refund, replayed=False)
