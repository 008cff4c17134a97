"""Orders: what a storefront or partner records, and what follows from it.

Recording an order is idempotent on its `externalId` alone: the same externalId with
the same customer and amount replays the first result and writes nothing; with a
different customer or amount it is refused (IDEMPOTENCY_CONFLICT). In the same
transaction: the customer is created on first sight (when profile fields come with
it), the customer's order statistics are brought up to date, points are earned into
a lot, the tier is upgraded if a threshold was crossed, and the events are appended.

An order's statistics count only *counted* orders: those not refunded in full.

Recording is set-based (`OrderService.record_many`, which `record` calls with a batch
of one): a batch reads what it needs in a few statements, decides each order in input
order with the pure `decide_order` (the points rule is `order_breakdown`: the base
points and the earning rules, `domain.earning_rules.evaluate`), and writes everything
with multi-row statements; the earning rules' facts are read once per batch and
carried from order to order (`BatchFacts`), except while a rule names a saved
segment: then the orders are recorded in turn inside the batch's one transaction.
The batch's new orders are attributed to campaigns (last touch, docs/campaigns.md)
by one INSERT … SELECT. docs/performance.md walks through it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from domain import coupons, referrals, tiers
from domain.campaigns import CAMPAIGNS
from domain.clock import Clock
from domain.customers import (
    CUSTOMERS,
    MAX_EXTERNAL_ID,
    Customer,
    CustomerRef,
    CustomerStats,
    check_not_merged,
    found_or_prepared,
    ref_key,
    ref_keys,
    ref_way,
    survivor_keys,
)
from domain.earning_rules import service as earning
from domain.earning_rules.evaluate import (
    Breakdown,
    BreakdownLine,
    Cart,
    CustomerFacts,
    evaluate,
    reversal_by_line,
)
from domain.earning_rules.model import EarningRule, RuleKind
from domain.earning_rules.service import (
    EARNING_RULES,
    BatchFacts,
    Gathered,
    KeptBreakdown,
    reversal_parts,
    uses_segments,
)
from domain.errors import DomainError, ErrorCode, ErrorCollector, InvalidInput, present
from domain.event_payloads import CustomerCreatedV1, OrderRecordedV1, OrderRefundedV1, points_earned
from domain.events import EVENTS, Event
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
    Lot,
    PointsAccount,
    lot_dates,
)
from domain.program import PROGRAM, ProgramSettings, TierBasis
from domain.referrals import REFERRALS
from domain.tiers import TIERS
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
    # The order's EARN entries that reached the balance: the base, then each rule's.
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
    async def by_external_ids(self, external_ids: Sequence[str]) -> dict[str, Order]: ...
    async def number(self, orders: Sequence[Order]) -> None:
        """Gives each new order its id before its points are decided; may write the
        rows already (then without points)."""
        ...

    async def write_numbered(self, orders: Sequence[Order]) -> None:
        """Writes the numbered orders as decided: their rows (if `number` did not)
        and their points earned."""
        ...

    async def refresh_customers_stats(self, customer_ids: Sequence[int]) -> None:
        """THE place order writes maintain the customers' order statistics (a read
        model kept on order writes hangs here)."""
        ...

    async def refresh_order_months(self, touched: Sequence[tuple[int, datetime]]) -> None:
        """The monthly read model of counted orders (persistence/orders.py): recomputes
        the (customer, local month and year) buckets of these (customer, placedAt)
        pairs, in a fixed number of statements."""
        ...

    async def add_to_order_months(self, orders: Sequence[Order]) -> None:
        """The same read model after new (counted, unrefunded) orders: their amounts
        added to their buckets rather than the buckets recomputed."""
        ...


ORDERS: Port[OrderRepository] = Port("orders")


def _conflict() -> DomainError:
    return DomainError(
        ErrorCode.IDEMPOTENCY_CONFLICT,
        ("external_id",),
        "An order with this externalId was recorded for another customer or amount.",
    )


def _referrers(found: Iterable[referrals.Referral]) -> list[int]:
    """The referrers of pending referrals: an order of their referee may pay them."""
    return [r.referrer_id for r in found if r.status is referrals.ReferralStatus.PENDING]


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


@dataclass(frozen=True)
class ValidOrder:
    """An order's fields once checked (`validate_order`)."""

    external_id: str
    amount: Decimal
    currency: str
    channel: str | None
    items: list[OrderItem]


def validate_order(command: RecordOrder, program: ProgramSettings, now: datetime) -> ValidOrder:
    """Every problem of the order's own fields at once (InvalidInput), or its clean
    values. Pure: orderRecord and ordersRecordBulk check each input here."""
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
    try:
        ref_way(command.customer, ("customer",))
    except DomainError as exc:
        errors.capture(exc)
    items = check_items(command.items, errors)
    errors.raise_if_any()
    return ValidOrder(
        present(external_id, "externalId"),
        present(amount, "amount"),
        currency,
        channel,
        items,
    )


# ---- the per-order decision (pure), shared by orderRecord and ordersRecordBulk ------


def order_breakdown(
    order: Order,
    program: ProgramSettings,
    multiplier: Decimal,
    tier_id: int | None,
    gathered: Gathered | None,
) -> Breakdown:
    """THE points decision for one order: its base points and what each earning rule
    adds (the pure `evaluate`), given the customer's tier (and its multiplier) as
    held when the order comes in and the facts gathered for the rules (`gathered`:
    None when no earning rule is active). orderRecord, ordersRecordBulk and
    earningPreview all ask here."""
    if not order.award_points:
        return Breakdown(BreakdownLine(None, order.amount, 0, 0))
    cart = Cart(order.amount, order.placed_at, order.channel, order.items)
    if gathered is None:
        facts, rules, budgets = CustomerFacts(tier_multiplier=multiplier), [], {}
    else:
        facts = replace(gathered.facts, tier_id=tier_id, tier_multiplier=multiplier)
        rules, budgets = gathered.rules, gathered.budgets
    return evaluate(cart, facts, rules, budgets, earn_rate=program.earn_rate, zone=program.zone)


def earn(
    account: PointsAccount,
    order: Order,
    breakdown: Breakdown,
    program: ProgramSettings,
    now: datetime,
    api_key_id: int | None,
) -> tuple[list[Lot], list[LedgerEntry]]:
    """Credits the order's points, one lot per line of its breakdown (the base, then
    each rule's, linked to its rule), all with the order's dates; returns the lots and
    the ledger entries of those available now (none while pending). Sets
    `order.points_earned`."""
    # An order stamped a little ahead of our clock (CLOCK_SKEW) starts its lot now:
    # otherwise pending_days=0 would leave its points pending until the next job.
    available_at, expires_at = lot_dates(
        min(order.placed_at, now), program.pending_days, program.expiry_days
    )
    lots: list[Lot] = []
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
        lots.append(account.new_lots[-1])
        if entry is not None:
            entry.api_key_id = api_key_id
            entries.append(entry)
    order.points_earned = breakdown.total
    return lots, entries


@dataclass
class CustomerState:
    """One customer as the orders of a batch see it, locked: the record, the points
    account (totals only: credits need no lots), the tier held and the qualifying
    value, the referral where they are the referee, and the order statistics."""

    customer: Customer
    account: PointsAccount
    standing: tiers.Standing
    qualifying_value: Decimal
    referral: referrals.Referral | None
    stats: CustomerStats

    @classmethod
    def of(
        cls, customer: Customer, value: Decimal, referral: referrals.Referral | None
    ) -> CustomerState:
        customer_id = present(customer.id, "customer id")
        stats = customer.stats or CustomerStats()
        return cls(
            customer=customer,
            account=PointsAccount(
                customer_id=customer_id,
                balance=stats.points_balance,
                debt=stats.points_debt,
                lifetime_earned=stats.lifetime_earned,
                lots=[],
            ),
            standing=tiers.Standing(customer_id, stats.tier_id, stats.tier_since),
            qualifying_value=value,
            referral=referral,
            stats=stats,
        )

    def snapshot(self) -> Customer:
        """The customer as the orders decided so far leave them."""
        return replace(
            self.customer,
            stats=replace(
                self.stats,
                points_balance=self.account.balance,
                points_debt=self.account.debt,
                lifetime_earned=self.account.lifetime_earned,
                tier_id=self.standing.tier_id,
                tier_since=self.standing.since,
            ),
        )


@dataclass
class OrderOutcome:
    """What recording one new order changes, beyond the order row itself."""

    order: Order
    earned: list[LedgerEntry]  # the order's own EARN entries that reached the balance
    lots: list[Lot]
    entries: list[LedgerEntry]
    qualification: referrals.Qualification | None
    tier_change: tiers.TierChange | None
    created: Customer | None = None  # the customer this order created, if it did
    breakdown: Breakdown | None = None  # what it earned, line by line (points > 0)


def qualifying_contribution(order: Order, program: ProgramSettings, now: datetime) -> Decimal:
    """What a new order adds to its customer's qualifying value (persistence/tiers.py
    sums the same over stored orders): its points or its amount, when it was placed
    in the window."""
    window = tiers.qualifying_window(program, now)
    if not window.start < order.placed_at <= window.end:
        return Decimal(0)
    if program.tier_basis is TierBasis.SPEND:
        return order.amount - order.refunded_amount
    return Decimal(order.points_earned - order.points_reversed)


def decide_order(
    order: Order,
    state: CustomerState,
    referrer: CustomerState | None,
    tier_list: Sequence[tiers.Tier],
    program: ProgramSettings,
    now: datetime,
    api_key_id: int | None,
    gathered: Gathered | None = None,
    batch: BatchFacts | None = None,
) -> OrderOutcome:
    """Everything a new order (already numbered) decides, in the order orderRecord
    has always taken: statistics, points at the tier held, the order's event, the
    referral it qualifies, then the tier its value now reaches. Changes `state`
    (and `referrer`'s points) so the customer's next order in a batch sees them.
    `gathered`: the earning rules' facts for this order, read for it alone; or
    `batch`: those of the whole batch, which this order then takes its share of
    (neither: no rule is active)."""
    state.stats = replace(
        state.stats,
        orders_count=state.stats.orders_count + 1,
        total_spent=state.stats.total_spent + order.amount,
        first_order_at=min(filter(None, (state.stats.first_order_at, order.placed_at))),
        last_order_at=max(filter(None, (state.stats.last_order_at, order.placed_at))),
    )
    held = tiers.find_tier(tier_list, state.standing.tier_id)
    multiplier = held.earn_multiplier if held is not None else Decimal(1)
    if batch is not None and order.award_points:
        cart = Cart(order.amount, order.placed_at, order.channel, order.items)
        gathered = batch.gathered(cart, state.customer, state.standing.tier_id, multiplier, program)
    breakdown = order_breakdown(order, program, multiplier, state.standing.tier_id, gathered)
    if batch is not None:
        batch.took(state.account.customer_id, order.placed_at, breakdown)
    lots: list[Lot] = []
    earned: list[LedgerEntry] = []
    if breakdown.total > 0:
        lots, earned = earn(state.account, order, breakdown, program, now, api_key_id)
    entries = list(earned)
    accounts = {state.account.customer_id: state.account}
    if referrer is not None:
        accounts[referrer.account.customer_id] = referrer.account
    qualification = referrals.qualify_on_order(state.referral, order, accounts, program, now)
    if qualification is not None:
        state.referral = qualification.referral
        lots += qualification.lots
        entries += qualification.entries
    state.qualifying_value += qualifying_contribution(order, program, now)
    change = None
    if tier_list:
        change = tiers.decide_upgrade(tier_list, state.standing, state.qualifying_value, now)
    if change is not None:
        state.standing = tiers.Standing(
            change.customer_id, change.to_tier.id if change.to_tier else None, change.at
        )
    return OrderOutcome(
        order,
        earned,
        lots,
        entries,
        qualification,
        change,
        breakdown=breakdown if breakdown.total > 0 else None,
    )


def order_events(outcome: OrderOutcome, program: ProgramSettings, now: datetime) -> list[Event]:
    """The events of one recorded order, in the order orderRecord has always raised
    them: `customer.created` (when the order created its customer), the order's
    `points.earned` (one per EARN entry: the base, then each earning rule's),
    `order.recorded`, the referral it qualified, the tier move. Made
    after the writes, so every id a payload carries exists."""
    order, created = outcome.order, outcome.created
    events: list[Event] = []
    if created is not None:
        events.append(
            Event.of(
                CustomerCreatedV1(present(created.id, "customer id"), created.external_id), now
            )
        )
    for entry in outcome.earned:
        events.append(Event.of(points_earned(entry, order.external_id), now))
    events.append(
        Event.of(
            OrderRecordedV1(
                order.customer_id,
                order_id=present(order.id, "order id"),
                order_external_id=order.external_id,
                amount=order.amount,
                currency=order.currency,
                placed_at=order.placed_at,
                points_earned=order.points_earned,
            ),
            now,
        )
    )
    if outcome.qualification is not None:
        events += referrals.qualification_events(outcome.qualification, now)
    if outcome.tier_change is not None:
        events.append(tiers.tier_event(outcome.tier_change, program))
    return events


# ---- recording a batch ---------------------------------------------------------------

Refusal = DomainError | InvalidInput


@dataclass
class _Input:
    """One command of a batch on its way through `_record_batch_once`."""

    command: RecordOrder
    valid: ValidOrder | None = None
    key: int | str | None = None
    refusal: Refusal | None = None
    # Set by the plan: the customer it records for, and whether it is new.
    customer: Customer | None = None
    creates: bool = False
    new_order: Order | None = None
    replay_of: Order | None = None
    gathered: Gathered | None = None  # the earning rules' facts, when any is active


class OrderService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        *,
        phone_region: str | None,
        reads: UnitOfWorkFactory | None = None,
    ) -> None:
        """`reads`: units of work that only read, for `preview` (the API's do not take
        SQLite's write lock); the writing ones when not given."""
        self.uow_factory = uow_factory
        self.reads = reads or uow_factory
        self.clock = clock
        self.phone_region = phone_region

    # ---- orderRecord, ordersRecordBulk ---------------------------------------------

    async def record(self, command: RecordOrder) -> RecordResult:
        """One order: exactly a batch of one (`record_many`), so the two can never
        differ. Raises the refusal."""
        (result,) = await self.record_many([command])
        if isinstance(result, RecordResult):
            return result
        raise result

    async def record_many(self, commands: Sequence[RecordOrder]) -> list[RecordResult | Refusal]:
        """Records the orders as if each were recorded by its own `record`, one after
        the other in this order, and returns one result or refusal per command.

        One transaction and one round of statements for the whole batch, whatever its
        size: a set of reads (the customers, locked in id order with the referrers of
        their pending referrals; the orders already recorded under these externalIds;
        the tiers and qualifying values; the referrals), the decisions in Python with
        `decide_order`, then multi-row writes. Atomicity: each command succeeds or is
        refused on its own (a refusal writes nothing of its own and leaves the others
        alone); the batch commits as a whole, so a crash or a database error leaves
        all of it or none of it. A lost race on a unique key (a concurrent write of
        the same externalId) runs the whole batch again, which then replays."""
        if not commands:
            return []
        return await retrying(lambda: self._record_batch_once(commands))

    async def preview(self, command: RecordOrder) -> PreviewResult:
        """What `record` would award this cart now, by the very same decision
        (`order_breakdown` on the facts `record` gathers), writing nothing (no budget
        is held: a concurrent order may still spend it first). The order's externalId
        is not needed and not checked for replays."""
        now = self.clock.now()
        async with self.reads() as uow:
            program = await uow.repo(PROGRAM).get()
            probe = replace(command, external_id=command.external_id or "preview")
            valid = validate_order(probe, program, now)
            key = await ref_key(
                uow, command.customer, ("customer",), phone_region=self.phone_region
            )
            key = (await survivor_keys(uow.repo(CUSTOMERS), [key])).get(key, key)
            found = await uow.repo(CUSTOMERS).find_many(
                [key] if isinstance(key, int) else [], [key] if isinstance(key, str) else []
            )
            customer, created = found_or_prepared(
                command.customer,
                key,
                found[0] if found else None,
                now,
                phone_region=self.phone_region,
                path=("customer",),
            )
            order = Order(
                id=None,
                customer_id=customer.id or 0,
                external_id=valid.external_id,
                amount=valid.amount,
                currency=valid.currency,
                placed_at=command.placed_at,
                channel=valid.channel,
                award_points=command.award_points,
                request_hash="",
                created_at=now,
                items=valid.items,
            )
            gathered = None
            if command.award_points:
                cart = Cart(order.amount, order.placed_at, order.channel, order.items)
                gathered = await earning.gather(uow, cart, customer, program, lock=False)
            tier_id = customer.stats.tier_id if customer.stats else None
            held = tiers.find_tier(await uow.repo(TIERS).all(), tier_id)
            multiplier = held.earn_multiplier if held is not None else Decimal(1)
            breakdown = order_breakdown(order, program, multiplier, tier_id, gathered)
            return PreviewResult(None if created else customer.id, breakdown)

    async def _record_batch_once(
        self, commands: Sequence[RecordOrder]
    ) -> list[RecordResult | Refusal]:
        now = self.clock.now()
        inputs = [_Input(command) for command in commands]
        async with self.uow_factory() as uow:
            program = await uow.repo(PROGRAM).get()
            for item in inputs:
                try:
                    item.valid = validate_order(item.command, program, now)
                except (DomainError, InvalidInput) as exc:
                    item.refusal = exc
            # Every customer named by an identity, phone or e-mail is found at once.
            valid = [i for i in inputs if i.refusal is None]
            keys = await ref_keys(
                uow,
                [i.command.customer for i in valid],
                ("customer",),
                phone_region=self.phone_region,
            )
            for item, key in zip(valid, keys, strict=True):
                if isinstance(key, DomainError | InvalidInput):
                    item.refusal = key
                else:
                    item.key = key
            checked = [i for i in inputs if i.refusal is None]
            # A merged customer's id or externalId records on the survivor.
            survivors = await survivor_keys(
                uow.repo(CUSTOMERS), [i.key for i in checked if i.key is not None]
            )
            for item in checked:
                if item.key is not None:
                    item.key = survivors.get(item.key, item.key)
            # One read tells whether any earning rule can apply to this batch.
            live = await uow.repo(EARNING_RULES).live()
            rules = [
                r
                for r in live
                if r.id is not None
                and r.kind is not RuleKind.ACTIVITY
                and any(r.is_active(i.command.placed_at) for i in checked)
            ]
            if not uses_segments(rules) or len(checked) <= 1:
                results = await self._record_set(uow, inputs, program, now, rules)
            else:
                # A rule names a saved segment: whether the customer is in it depends
                # on the orders before (their count, spend, dates), so each order is
                # recorded in turn, in this transaction, exactly as `record` would
                # record it. Every lock the batch needs is taken first, in id order
                # (the customers with their referrers, then the budgeted rules), so
                # two batches cannot deadlock on them.
                await self._lock_customers(uow, checked)
                budgeted = sorted(
                    present(r.id, "rule id") for r in rules if r.budget.total_points is not None
                )
                if budgeted:
                    await uow.repo(EARNING_RULES).lock_budgets(budgeted)
                results = []
                for item in inputs:
                    results += await self._record_set(uow, [item], program, now, rules)
            await uow.commit()
            return results

    @staticmethod
    async def _lock_customers(
        uow: UnitOfWork, inputs: Sequence[_Input]
    ) -> tuple[dict[int, Customer], dict[int, referrals.Referral]]:
        """Locks the inputs' known customers with the referrers of their pending
        referrals, in id order; returns them and the referrals where they are the
        referee."""
        keys = [i.key for i in inputs]
        found = await uow.repo(CUSTOMERS).find_many(
            [k for k in keys if isinstance(k, int)], [k for k in keys if isinstance(k, str)]
        )
        found_ids = [present(c.id, "customer id") for c in found]
        # Read the referrals before taking any lock (see lock_with_referrer): the
        # referrers of pending ones are locked with the customers, in id order.
        pending = await uow.repo(REFERRALS).by_referees(found_ids)
        locked = await uow.repo(CUSTOMERS).lock_many([*found_ids, *_referrers(pending.values())])
        check_not_merged(locked.values())
        # A referral recorded between that read and the locks: its referrer too.
        referral_of = await uow.repo(REFERRALS).by_referees(found_ids)
        late = set(_referrers(referral_of.values())) - set(locked)
        if late:
            locked.update(await uow.repo(CUSTOMERS).lock_many(sorted(late)))
        return locked, referral_of

    async def _record_set(
        self,
        uow: UnitOfWork,
        inputs: Sequence[_Input],
        program: ProgramSettings,
        now: datetime,
        rules: Sequence[EarningRule],
    ) -> list[RecordResult | Refusal]:
        """Records checked inputs in one round of statements: reads, decisions in
        input order, multi-row writes. `rules`: the active earning rules; their facts
        are read for the whole batch (`batch_facts`), or, when a rule names a saved
        segment, per order (`gather`: then it is given one input at a time, see
        `_record_batch_once`)."""
        checked = [i for i in inputs if i.refusal is None]
        if not checked:
            return [i.refusal for i in inputs if i.refusal is not None]
        locked, referral_of = await self._lock_customers(uow, checked)
        existing = await uow.repo(ORDERS).by_external_ids(
            [present(i.valid, "valid order").external_id for i in checked]
        )
        tier_list = await uow.repo(TIERS).all()
        # Before this batch's orders are written: decide_order adds each one's share.
        values = await uow.repo(TIERS).qualifying_values(
            sorted(locked), program.tier_basis, tiers.qualifying_window(program, now)
        )
        created = self._plan(inputs, locked, existing, now)
        batch = None
        if rules and not uses_segments(rules):
            # Before the batch's orders exist: each order's facts are then the ones
            # the orders before it in the batch leave (see BatchFacts).
            batch = await earning.batch_facts(
                uow,
                rules,
                sorted(locked),
                [i.new_order.placed_at for i in inputs if i.new_order is not None],
                program,
            )
        elif rules:
            # Before the order (and a customer it creates) exists, so its facts (first
            # order, segments) are the ones a preview of the same cart sees.
            for item in inputs:
                if item.new_order is not None and item.command.award_points:
                    order = item.new_order
                    item.gathered = await earning.gather(
                        uow,
                        Cart(order.amount, order.placed_at, order.channel, order.items),
                        item.customer,
                        program,
                        lock=True,
                        live=rules,
                    )
        await uow.repo(CUSTOMERS).add_many(created)
        new_orders = [i.new_order for i in inputs if i.new_order is not None]
        for item in inputs:
            if item.new_order is not None:
                customer_id = present(present(item.customer, "customer").id, "customer id")
                item.new_order.customer_id = customer_id
                item.new_order.request_hash = fingerprint(customer_id, str(item.new_order.amount))
        await uow.repo(ORDERS).number(new_orders)
        states = {
            cid: CustomerState.of(c, values.get(cid, Decimal(0)), referral_of.get(cid))
            for cid, c in locked.items()
        }
        for customer in created:
            states[present(customer.id, "customer id")] = CustomerState.of(
                customer, Decimal(0), None
            )
        results, outcomes = self._decide(inputs, states, tier_list, program, now, batch)
        await self._write(uow, states, outcomes, program, now)
        return results

    def _plan(
        self,
        inputs: Sequence[_Input],
        locked: dict[int, Customer],
        existing: dict[str, Order],
        now: datetime,
    ) -> list[Customer]:
        """Which input records a new order, replays one, or is refused, walking them
        in order as sequential calls would; returns the customers to create (their
        first order is recorded). Orders are built without customer ids yet."""
        by_external = {c.external_id: c for c in locked.values()}
        recorded: dict[str, tuple[Order, Customer]] = {}
        created: list[Customer] = []
        for item in inputs:
            if item.refusal is not None:
                continue
            valid = present(item.valid, "valid order")
            key = item.key
            if key is None:
                raise AssertionError("a checked input has its customer key")
            found = locked.get(key) if isinstance(key, int) else by_external.get(key)
            try:
                customer, new = found_or_prepared(
                    item.command.customer,
                    key,
                    found,
                    now,
                    phone_region=self.phone_region,
                    path=("customer",),
                )
                earlier = recorded.get(valid.external_id)
                if earlier is not None:
                    order, owner = earlier
                    if new or owner is not customer or str(order.amount) != str(valid.amount):
                        raise _conflict()
                    item.customer, item.replay_of = customer, order
                    continue
                stored = existing.get(valid.external_id)
                if stored is not None:
                    if new or stored.request_hash != fingerprint(customer.id, str(valid.amount)):
                        raise _conflict()
                    item.customer, item.replay_of = customer, stored
                    continue
            except (DomainError, InvalidInput) as exc:
                item.refusal = exc
                continue
            if new:
                created.append(customer)
                by_external[customer.external_id] = customer
            item.customer, item.creates = customer, new
            item.new_order = Order(
                id=None,
                customer_id=0,  # set once a new customer has its id
                external_id=valid.external_id,
                amount=valid.amount,
                currency=valid.currency,
                placed_at=item.command.placed_at,
                channel=valid.channel,
                award_points=item.command.award_points,
                request_hash="",
                created_at=now,
                items=valid.items,
            )
            recorded[valid.external_id] = (item.new_order, customer)
        return created

    def _decide(
        self,
        inputs: Sequence[_Input],
        states: dict[int, CustomerState],
        tier_list: Sequence[tiers.Tier],
        program: ProgramSettings,
        now: datetime,
        batch: BatchFacts | None,
    ) -> tuple[list[RecordResult | Refusal], list[OrderOutcome]]:
        results: list[RecordResult | Refusal] = []
        outcomes: list[OrderOutcome] = []
        for item in inputs:
            if item.refusal is not None:
                results.append(item.refusal)
                continue
            state = states[present(present(item.customer, "customer").id, "customer id")]
            if item.replay_of is not None:
                results.append(RecordResult(item.replay_of, state.snapshot(), replayed=True))
                continue
            order = present(item.new_order, "order")
            referral = state.referral
            referrer = None
            if referral is not None and referral.status is referrals.ReferralStatus.PENDING:
                referrer = states[referral.referrer_id]
            outcome = decide_order(
                order,
                state,
                referrer,
                tier_list,
                program,
                now,
                item.command.api_key_id,
                item.gathered,
                batch,
            )
            if item.creates:
                outcome.created = state.customer
            outcomes.append(outcome)
            results.append(
                RecordResult(order, state.snapshot(), replayed=False, entries=outcome.earned)
            )
        return results, outcomes

    @staticmethod
    async def _write(
        uow: UnitOfWork,
        states: dict[int, CustomerState],
        outcomes: Sequence[OrderOutcome],
        program: ProgramSettings,
        now: datetime,
    ) -> None:
        """The batch's writes, a fixed number of statements whatever its size; the
        events last, once every entry they name has its id."""
        await uow.repo(ORDERS).write_numbered([o.order for o in outcomes])
        # Credits are the only change an order makes to an account: an account with
        # no new lot is as it was loaded.
        await uow.repo(POINTS).save_credits(
            [states[cid].account for cid in sorted(states) if states[cid].account.new_lots],
            [lot for o in outcomes for lot in o.lots],
            [entry for o in outcomes for entry in o.entries],
        )
        await earning.keep_many(
            uow,
            [
                KeptBreakdown(
                    present(o.order.id, "order id"),
                    o.order.customer_id,
                    o.order.placed_at,
                    o.breakdown,
                )
                for o in outcomes
                if o.breakdown is not None
            ],
        )
        await uow.repo(ORDERS).refresh_customers_stats(
            sorted({o.order.customer_id for o in outcomes})
        )
        await uow.repo(ORDERS).add_to_order_months([o.order for o in outcomes])
        await uow.repo(REFERRALS).save_many(
            [o.qualification.referral for o in outcomes if o.qualification]
        )
        changes = [o.tier_change for o in outcomes if o.tier_change is not None]
        if changes:
            await uow.repo(TIERS).move(changes)
        # Last touch (domain/campaigns.py): one INSERT … SELECT for the whole batch.
        await uow.repo(CAMPAIGNS).attribute_orders(
            [present(o.order.id, "order id") for o in outcomes]
        )
        await uow.repo(EVENTS).append_many(
            [event for o in outcomes for event in order_events(o, program, now)]
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
            await uow.repo(ORDERS).refresh_order_months([(order.customer_id, order.placed_at)])
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
                # coupons: a full refund gives back the coupons used on it (a program setting)
                await coupons.restore_on_full_refund(uow, order.customer_id, order.external_id, now)
            await uow.repo(EVENTS).append(
                Event.of(
                    OrderRefundedV1(
                        order.customer_id,
                        order_id=order_id,
                        order_external_id=order.external_id,
                        refund_id=present(refund.id, "refund id"),
                        amount=amount,
                        currency=order.currency,
                        refunded_total=order.refunded_amount,
                        fully_refunded=not order.counted,
                        points_reversed=reverse,
                    ),
                    now,
                )
            )
            await uow.commit()
            return RefundResult(order, refund, replayed=False)
