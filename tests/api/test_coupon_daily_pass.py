"""The daily pass over coupons: ending ones are announced once, ended ones turn
EXPIRED, and running it again (the same day or the same instant) changes nothing."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from domain.jobs import run_daily
from persistence.events import EventRow
from persistence.unit_of_work import SqlUnitOfWork
from tests.api.coupon_calls import coupons_of, issued, new_customer, new_template, record_order
from tests.conftest import utc


async def _notices(database) -> list[dict]:  # noqa: ANN001
    async with database.sessions() as session:
        rows = await session.execute(
            select(EventRow).where(EventRow.type == "coupon.expiring_soon").order_by(EventRow.id)
        )
        return [r.payload for r in rows.scalars()]


async def test_expiring_soon_once_then_expired_once(gql, database, settings, clock):
    clock.at = utc(2026, 8, 1)
    shopper = await new_customer(gql, "holder")
    template = await new_template(gql, validDays=None, validUntil="2026-08-10T00:00:00+00:00")
    coupon = await issued(gql, template["id"], shopper)

    def job(at):  # noqa: ANN001, ANN202
        return run_daily(lambda: SqlUnitOfWork(database, settings.program_defaults()), at)

    await job(utc(2026, 8, 6, 23))  # more than 3 days ahead: nothing yet
    assert await _notices(database) == []
    await job(utc(2026, 8, 7))  # exactly 3 days ahead
    await job(utc(2026, 8, 7, 12))  # the same day again
    await job(utc(2026, 8, 7))  # the same instant again
    notices = await _notices(database)
    assert len(notices) == 1
    assert notices[0]["expiresAt"] == "2026-08-10T00:00:00+00:00"

    clock.at = utc(2026, 8, 10)
    await job(utc(2026, 8, 10))
    await job(utc(2026, 8, 10))
    async with database.sessions() as session:
        rows = await session.execute(select(EventRow.type).where(EventRow.type.like("coupon.%")))
        assert sorted(rows.scalars()) == ["coupon.expiring_soon"]
    listed = await coupons_of(gql, shopper)
    assert [(n["code"], n["status"]) for n in listed["nodes"]] == [(coupon["code"], "EXPIRED")]


async def test_coupon_metrics_count_issues_and_uses_in_the_period(gql, clock):
    clock.at = utc(2026, 9, 1, 10)
    template = await new_template(gql, name="September", minSpend="0")
    shoppers = [await new_customer(gql, f"m-{i}") for i in range(4)]
    coupons = [await issued(gql, template["id"], s, f"m-{i}") for i, s in enumerate(shoppers)]
    await record_order(gql, "m-order", "m-0", clock.at - timedelta(hours=1))
    used = await gql(
        'mutation($code: String!) { couponUse(input: {code: $code, orderExternalId: "m-order"}) '
        "{ userErrors { code } } }",
        {"code": coupons[0]["code"]},
    )
    assert used["couponUse"]["userErrors"] == []
    report = await gql(
        '{ couponMetrics(period: {from: "2026-09-01T00:00:00+00:00", to: "2026-10-01T00:00:00+00:00"}) '
        "{ template { name } issued used usageRate } }"
    )
    assert report["couponMetrics"] == [
        {"template": {"name": "September"}, "issued": 4, "used": 1, "usageRate": "0.2500"}
    ]
    earlier = await gql(
        '{ couponMetrics(period: {from: "2026-08-01T00:00:00+00:00", to: "2026-09-01T00:00:00+00:00"}) '
        "{ issued } }"
    )
    assert earlier["couponMetrics"] == []
