"""Campaigns stay set-based: a touchpointsRecord call and an order batch cost the
same number of statements whatever their size, and every order of a batch is
attributed by the batch's one attribution statement."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import event, func, select

from domain.campaigns import (
    CampaignFields,
    CampaignService,
    Channel,
    RecordTouchpoint,
    TouchpointEvent,
    TouchpointResult,
    VariantInput,
)
from domain.clock import FixedClock
from domain.customers import CustomerRef, ProfileInput
from domain.orders import RecordOrder, RecordResult
from domain.segments import CreateSegment, SegmentService
from persistence.campaigns import CampaignAudienceRow, OrderAttributionRow
from persistence.database import Database
from tests.conftest import utc
from tests.service import wiring

START = utc(2026, 3, 1, 9)


async def statements_of(database: Database, run: Callable[[], Awaitable[Any]]) -> tuple[int, Any]:
    seen: list[str] = []

    def count(conn, cursor, statement, *rest) -> None:  # noqa: ANN001
        seen.append(statement)

    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        result = await run()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen), result


async def test_touchpoints_and_attributions_cost_the_same_statements_whatever_the_size(
    database: Database,
):
    clock = FixedClock(START - timedelta(days=30))
    orders = wiring.orders(database, clock)
    shoppers = [f"s-{n}" for n in range(110)]
    history = await orders.record_many(
        [
            RecordOrder(
                f"h-{name}",
                CustomerRef(external_id=name, profile=ProfileInput(name="S", city="上海")),
                "10",
                "CNY",
                clock.at,
            )
            for name in shoppers
        ]
    )
    assert all(isinstance(r, RecordResult) for r in history)
    segments = SegmentService(wiring.uow_factory(database), clock)
    segment = await segments.create(CreateSegment("上海", 'city = "上海"'))
    clock.at = START
    campaigns = CampaignService(wiring.uow_factory(database), clock)
    campaign = await campaigns.create(
        CampaignFields(
            name="batch",
            channel=Channel.SMS,
            segment_id=segment.id,
            variants=[VariantInput("only")],
            starts_at=START,
        )
    )
    cost, (_, size) = await statements_of(database, lambda: campaigns.start(campaign.id))
    assert size == len(shoppers)
    # Freezing an empty segment costs the same statements as freezing 110 members.
    nobody = await segments.create(CreateSegment("北京", 'city = "北京"'))
    empty = await campaigns.create(
        CampaignFields(
            name="empty",
            channel=Channel.SMS,
            segment_id=nobody.id,
            variants=[VariantInput("only")],
            starts_at=START,
        )
    )
    empty_cost, (_, none) = await statements_of(database, lambda: campaigns.start(empty.id))
    assert (none, empty_cost) == (0, cost)
    async with database.sessions() as session:
        frozen = await session.scalar(
            select(func.count()).where(CampaignAudienceRow.campaign_id == campaign.id)
        )
    assert frozen == len(shoppers)

    clock.at = START + timedelta(days=1)
    counts = []
    for chunk in (shoppers[:10], shoppers[10:110]):
        cost, results = await statements_of(
            database,
            lambda chunk=chunk: campaigns.record_touchpoints(
                [
                    RecordTouchpoint(
                        campaign.id,
                        CustomerRef(external_id=name),
                        "only",
                        TouchpointEvent.SENT,
                        START + timedelta(hours=1),
                        f"sent-{name}",
                    )
                    for name in chunk
                ]
            ),
        )
        assert all(isinstance(r, TouchpointResult) and r.touchpoint.flag is None for r in results)
        counts.append(cost)
    assert counts[0] == counts[1], counts

    counts = []
    for chunk in (shoppers[:10], shoppers[10:110]):
        cost, results = await statements_of(
            database,
            lambda chunk=chunk: orders.record_many(
                [
                    RecordOrder(
                        f"o-{name}",
                        CustomerRef(external_id=name),
                        "120",
                        "CNY",
                        START + timedelta(hours=2),
                    )
                    for name in chunk
                ]
            ),
        )
        assert all(isinstance(r, RecordResult) for r in results)
        counts.append(cost)
    assert counts[0] == counts[1], counts
    async with database.sessions() as session:
        attributed = await session.execute(
            select(func.count(), func.min(OrderAttributionRow.campaign_id)).where(
                OrderAttributionRow.arm == "only"
            )
        )
    assert tuple(attributed.one()) == (len(shoppers), campaign.id)
