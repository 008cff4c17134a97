"""The daily triggers over a constructed history: `run_daily` with explicit `as_of`
raises exactly the expected birthdays, repurchase reminders, lifecycle changes and
tracked segment entries and exits, and nothing on a second run the same local day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from domain.clock import FixedClock
from domain.customers import CustomerRef, CustomerService, ProfileInput, UpsertCustomer
from domain.event_payloads import check
from domain.jobs import DailyReport, run_daily
from domain.orders import RecordOrder, RefundOrder
from domain.segments import CreateSegment, SegmentService, UpdateSegment
from persistence.database import Database
from persistence.events import EventRow
from tests.event_horizon import settle
from tests.service import wiring

CLOCK = datetime(2029, 6, 1, tzinfo=UTC)  # the services' now: after all of the history
TRIGGERS = (
    "customer.birthday",
    "customer.repurchase_due",
    "customer.lifecycle_changed",
    "segment.entered",
    "segment.exited",
)


DUE = ("customer.repurchase_due",)
STAGES = ("customer.lifecycle_changed",)
SEGMENTS = ("segment.entered", "segment.exited")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


class Shop:
    """A history written through the services, and the daily pass run by hand."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.clock = FixedClock(CLOCK)
        self.seen = 0
        self.ids: dict[str, int] = {}
        self.orders: dict[str, int] = {}

    async def program(self, **changes: Any) -> None:
        await wiring.program(self.database, self.clock).update(changes)

    async def customer(self, name: str, birthday: date | None = None) -> int:
        service = CustomerService(wiring.uow_factory(self.database), self.clock, phone_region=None)
        result = await service.upsert(UpsertCustomer(name, ProfileInput(birthday=birthday)))
        self.ids[name] = result.customer.id
        return result.customer.id

    async def order(self, order_id: str, who: str, at: datetime, amount: str = "100") -> None:
        result = await wiring.orders(self.database, self.clock).record(
            RecordOrder(
                external_id=order_id,
                customer=CustomerRef(external_id=who, profile=ProfileInput()),
                amount=Decimal(amount),
                currency="CNY",
                placed_at=at,
            )
        )
        self.ids[who] = result.customer.id
        self.orders[order_id] = result.order.id

    async def refund(self, order_id: str, amount: str = "100") -> None:
        await wiring.orders(self.database, self.clock).refund(
            RefundOrder(order_id, Decimal(amount), f"refund-{order_id}")
        )

    async def run(
        self, as_of: datetime, types: tuple[str, ...] = TRIGGERS
    ) -> tuple[DailyReport, list[tuple[str, str, dict]]]:
        """The pass as of `as_of`, and the events of `types` it raised (type,
        customer name, payload), each checked against its definition."""
        report = await run_daily(wiring.uow_factory(self.database), as_of)
        await settle(self.database)
        names = {v: k for k, v in self.ids.items()}
        async with self.database.sessions() as session:
            rows = (
                await session.execute(
                    select(EventRow)
                    .where(EventRow.id > self.seen, EventRow.type.in_(types))
                    .order_by(EventRow.id)
                )
            ).scalars()
            found = []
            for row in rows:
                assert check(row.type, row.payload) == [], row.payload
                assert row.occurred_at == as_of
                found.append((row.type, names[row.customer_id], row.payload))
            last = (await session.execute(select(EventRow.id).order_by(EventRow.id.desc()))).first()
        self.seen = last[0] if last else 0
        return report, found


def kinds(found: list[tuple[str, str, dict]]) -> list[tuple[str, str]]:
    return [(kind, who) for kind, who, _ in found]


async def test_birthdays_on_the_local_day_and_29_february_in_common_and_leap_years(database):
    shop = Shop(database)
    await shop.program(timezone="Asia/Shanghai")
    await shop.customer("leapling", date(2000, 2, 29))
    await shop.customer("feb28", date(1990, 2, 28))
    await shop.customer("mar1", date(1985, 3, 1))
    await shop.customer("no-birthday")

    # 2027 is a common year. 17:00 UTC on 27 February is 01:00 on the 28th in Shanghai.
    report, found = await shop.run(utc(2027, 2, 27, 17))
    assert kinds(found) == [("customer.birthday", "leapling"), ("customer.birthday", "feb28")]
    assert [(p["birthday"], p["localDate"], p["age"]) for _, _, p in found] == [
        ("2000-02-29", "2027-02-28", 27),
        ("1990-02-28", "2027-02-28", 37),
    ]
    assert report.birthdays == 2
    again, found = await shop.run(utc(2027, 2, 28, 12))  # 20:00 the same local day
    assert (again.birthdays, found) == (0, [])

    _, found = await shop.run(utc(2027, 3, 1, 1))
    assert kinds(found) == [("customer.birthday", "mar1")]

    # 2028 is a leap year: 28 February is feb28's day only; 29 February is leapling's.
    _, found = await shop.run(utc(2028, 2, 28, 1))
    assert kinds(found) == [("customer.birthday", "feb28")]
    _, found = await shop.run(utc(2028, 2, 29, 1))
    assert [(kind, who, p["age"]) for kind, who, p in found] == [
        ("customer.birthday", "leapling", 28)
    ]
    _, found = await shop.run(utc(2028, 3, 1, 1))
    assert kinds(found) == [("customer.birthday", "mar1")]


async def test_repurchase_due_once_per_order_that_started_the_wait(database):
    shop = Shop(database)
    await shop.program(repurchase_reminder_days=30)
    await shop.run(utc(2026, 12, 1), DUE)  # the first pass: lifecycle baseline, nothing due
    await shop.order("a-1", "ann", utc(2027, 1, 10, 22))
    await shop.order("b-1", "bob", utc(2027, 1, 5, 9))
    await shop.order("b-2", "bob", utc(2027, 1, 20, 9))  # bob's wait restarts here
    await shop.order("c-1", "cat", utc(2026, 6, 1))  # due long before the first pass
    await shop.order("d-1", "dan", utc(2027, 1, 10, 9))
    await shop.refund("d-1")  # refunded in full: no counted order, nothing to remind

    _, found = await shop.run(utc(2027, 2, 8, 23), DUE)  # 29 calendar days after a-1
    assert kinds(found) == []
    report, found = await shop.run(utc(2027, 2, 9, 0, 30), DUE)  # 30 days, whatever the hour
    assert kinds(found) == [("customer.repurchase_due", "ann")]
    [(_, _, payload)] = found
    assert payload == payload | {
        "orderId": shop.orders["a-1"],
        "orderExternalId": "a-1",
        "lastOrderAt": "2027-01-10T22:00:00+00:00",
        "reminderDays": 30,
        "dueOn": "2027-02-09",
    }
    assert report.repurchase_due == 1
    _, found = await shop.run(utc(2027, 2, 9, 23), DUE)  # the same day again: nothing
    assert found == []
    _, found = await shop.run(utc(2027, 2, 12), DUE)  # a later day: a-1 was reminded already
    assert kinds(found) == []

    # A pass missed on bob's due date (19 February) catches up a few days later.
    _, found = await shop.run(utc(2027, 2, 22), DUE)
    assert [(who, p["orderExternalId"]) for _, who, p in found] == [("bob", "b-2")]

    # ann buys again: the new order starts a new wait, reminded about once too.
    await shop.order("a-2", "ann", utc(2027, 2, 15, 8))
    _, found = await shop.run(utc(2027, 3, 17, 8), DUE)
    assert [(who, p["orderExternalId"]) for _, who, p in found] == [("ann", "a-2")]


async def test_repurchase_days_are_counted_in_the_program_time_zone(database):
    shop = Shop(database)
    await shop.program(timezone="Asia/Shanghai", repurchase_reminder_days=30)
    await shop.run(utc(2026, 12, 1), DUE)
    # 20:00 UTC on 10 January is 04:00 on 11 January in Shanghai: due on 10 February.
    await shop.order("a-1", "ann", utc(2027, 1, 10, 20))

    _, found = await shop.run(utc(2027, 2, 9, 15), DUE)  # 23:00 on 9 February, local
    assert found == []
    _, found = await shop.run(utc(2027, 2, 9, 17), DUE)  # 01:00 on 10 February, local
    assert [(who, p["dueOn"]) for _, who, p in found] == [("ann", "2027-02-10")]


async def test_lifecycle_changes_against_the_stage_stored_at_the_last_pass(database):
    shop = Shop(database)
    await shop.customer("prospect")
    await shop.order("a-1", "ann", utc(2027, 1, 1, 12))

    report, found = await shop.run(utc(2027, 1, 2), STAGES)  # first pass ever: the baseline
    assert (report.lifecycle_changes, found) == (0, [])

    _, found = await shop.run(utc(2027, 1, 9), STAGES)  # 7.5 days after the first order
    assert [(who, p["fromStage"], p["toStage"]) for _, who, p in found] == [
        ("ann", "NEW", "ACTIVE")
    ]

    await shop.order("b-1", "bea", utc(2027, 1, 20, 10))
    _, found = await shop.run(utc(2027, 1, 21), STAGES)
    assert [(who, p["fromStage"], p["toStage"]) for _, who, p in found] == [
        ("bea", "PROSPECT", "NEW")
    ]

    # 30.5 days after ann's only order: she turns SILENT (the win-back trigger).
    report, found = await shop.run(utc(2027, 2, 1), STAGES)
    assert [(who, p["fromStage"], p["toStage"]) for _, who, p in found] == [
        ("ann", "ACTIVE", "SILENT"),
        ("bea", "NEW", "ACTIVE"),
    ]
    payload = found[0][2]
    assert (payload["lastOrderAt"], payload["localDate"]) == (
        "2027-01-01T12:00:00+00:00",
        "2027-02-01",
    )
    assert report.lifecycle_changes == 2
    again, found = await shop.run(utc(2027, 2, 1, 23), STAGES)
    assert (again.lifecycle_changes, found) == (0, [])

    _, found = await shop.run(utc(2027, 4, 2), STAGES)  # 90.5 days: churned; bea went silent
    assert sorted((who, p["fromStage"], p["toStage"]) for _, who, p in found) == [
        ("ann", "SILENT", "CHURNED"),
        ("bea", "ACTIVE", "SILENT"),
    ]


async def test_tracked_segments_raise_entries_and_exits_against_their_snapshot(database):
    shop = Shop(database)
    segments = SegmentService(wiring.uow_factory(database), shop.clock)
    big = await segments.create(CreateSegment("Big spenders", "total_spent >= 100", tracked=True))
    await segments.create(CreateSegment("Small spenders", "total_spent < 100"))  # untracked
    await shop.order("x-1", "xia", utc(2027, 1, 1), amount="150")
    await shop.order("y-1", "yan", utc(2027, 1, 1), amount="50")

    report, found = await shop.run(utc(2027, 1, 2), SEGMENTS)  # first pass: the snapshot {xia}
    assert (report.segment_entered, report.segment_exited, found) == (0, 0, [])

    await shop.order("y-2", "yan", utc(2027, 1, 2, 8), amount="60")
    report, found = await shop.run(utc(2027, 1, 3), SEGMENTS)
    assert kinds(found) == [("segment.entered", "yan")]
    [(_, _, payload)] = found
    assert payload == payload | {
        "segmentId": big.id,
        "segmentName": "Big spenders",
        "localDate": "2027-01-03",
    }
    assert (report.segment_entered, report.segment_exited) == (1, 0)
    _, found = await shop.run(utc(2027, 1, 3, 20), SEGMENTS)
    assert found == []

    await shop.refund("x-1", "150")
    report, found = await shop.run(utc(2027, 1, 4), SEGMENTS)
    assert kinds(found) == [("segment.exited", "xia")]
    assert (report.segment_entered, report.segment_exited) == (0, 1)

    # Untracked: no events, and the snapshot is forgotten; tracked again, a new baseline.
    await segments.update(UpdateSegment(big.id, tracked=False))
    await shop.order("x-2", "xia", utc(2027, 1, 4, 8), amount="500")
    _, found = await shop.run(utc(2027, 1, 5), SEGMENTS)
    assert found == []
    await segments.update(UpdateSegment(big.id, tracked=True))
    _, found = await shop.run(utc(2027, 1, 6), SEGMENTS)
    assert found == []
    await shop.refund("y-2", "60")
    _, found = await shop.run(utc(2027, 1, 7), SEGMENTS)
    assert kinds(found) == [("segment.exited", "yan")]


async def test_a_second_run_on_the_same_local_day_raises_nothing_at_all(database):
    shop = Shop(database)
    await shop.customer("bday", date(1999, 1, 7))
    await shop.run(utc(2027, 1, 1))
    await shop.order("a-1", "ann", utc(2027, 1, 1, 1))
    segments = SegmentService(wiring.uow_factory(database), shop.clock)
    await segments.create(CreateSegment("Buyers", "orders_count >= 1", tracked=True))
    await shop.run(utc(2027, 1, 2))  # the segment's baseline
    await shop.order("b-1", "bob", utc(2027, 1, 2, 1))

    first, found = await shop.run(utc(2027, 1, 7, 0, 5))
    assert sorted(kinds(found)) == [
        ("customer.birthday", "bday"),
        ("customer.lifecycle_changed", "bob"),
        ("segment.entered", "bob"),
    ]
    assert (first.birthdays, first.lifecycle_changes, first.segment_entered) == (1, 1, 1)
    second, found = await shop.run(utc(2027, 1, 7, 23, 55))
    assert found == []
    assert second == DailyReport()


async def test_the_triggers_cost_the_same_statements_for_3_or_30_customers(database):
    """Set-based: the number of SQL statements does not grow with the customers
    (each trigger reads once and writes in batches), whatever they raise."""
    from domain.daily_triggers import run_triggers
    from domain.program import ProgramSettings
    from tests.api.test_statement_count import counting

    program = ProgramSettings()
    segments = SegmentService(wiring.uow_factory(database), FixedClock(CLOCK))
    await segments.create(CreateSegment("Buyers", "orders_count >= 1", tracked=True))
    first_day = utc(2027, 1, 1)
    await run_triggers(wiring.uow_factory(database), program, first_day)  # baselines
    shop = Shop(database)

    async def costs(count: int, day: datetime) -> tuple[int, int]:
        for n in range(count):
            name = f"c{count}-{n}"
            await shop.customer(name, birthday=day.date().replace(year=1990))
            await shop.order(f"{name}-o", name, day - timedelta(days=30, hours=1))
        with counting(database) as counter:
            raised = await run_triggers(wiring.uow_factory(database), program, day)
        return len(counter.statements), raised.birthdays + raised.segment_entered

    few = await costs(3, utc(2027, 3, 10, 12))
    many = await costs(30, utc(2027, 3, 11, 12))

    assert few[1] == 3 * 2 and many[1] == 30 * 2
    assert few[0] == many[0]


async def test_two_passes_at_once_raise_each_event_once(database):
    """Two workers running the same local day at the same time: each trigger's claim
    lets one of them raise its events; the other finds the day taken."""
    import asyncio

    shop = Shop(database)
    await shop.customer("bday", date(1990, 5, 17))
    await shop.run(utc(2027, 5, 1))  # baselines
    segments = SegmentService(wiring.uow_factory(database), shop.clock)
    await segments.create(CreateSegment("Buyers", "orders_count >= 1", tracked=True))
    await shop.run(utc(2027, 5, 2))
    for n in range(5):
        await shop.order(f"o-{n}", f"buyer-{n}", utc(2027, 4, 17, 8))

    day = utc(2027, 5, 17, 0, 10)
    reports = await asyncio.gather(
        run_daily(wiring.uow_factory(database), day),
        run_daily(wiring.uow_factory(database), day + timedelta(minutes=1)),
    )
    third = await run_daily(wiring.uow_factory(database), day + timedelta(hours=1))

    assert third == DailyReport()
    async with database.sessions() as session:
        rows = (
            await session.execute(
                select(EventRow.type, EventRow.customer_id).where(EventRow.type.in_(TRIGGERS))
            )
        ).all()
    counted = sorted({t: sum(1 for r in rows if r[0] == t) for t, _ in rows}.items())
    assert counted == [
        ("customer.birthday", 1),
        ("customer.lifecycle_changed", 5),  # PROSPECT → SILENT, 30 days after the orders
        ("customer.repurchase_due", 5),
        ("segment.entered", 5),
    ]
    assert sum(r.birthdays for r in reports) == 1
    assert sum(r.segment_entered for r in reports) == 5
