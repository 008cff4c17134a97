"""Points buy coupons through rewardRedeem; cancelling that redemption takes the coupon
back (REVOKED) in the same transaction that gives the points back, and only that
redemption's coupon."""

from __future__ import annotations

from sqlalchemy import select

from domain.coupons import CouponKind, CouponStatus, CouponTemplateService, TemplateFields
from domain.redemptions import CancelRedemption
from domain.rewards import RewardFields, RewardKind
from persistence.coupons import CouponRow
from tests.service import wiring
from tests.service.test_ledger_mutants import Shop


async def coupon_statuses(database) -> dict[int, str]:  # noqa: ANN001
    async with database.sessions() as session:
        rows = await session.execute(select(CouponRow.redemption_id, CouponRow.status))
        return {redemption: status for redemption, status in rows.all()}


async def test_cancelling_a_coupon_redemption_revokes_its_coupon_only(database):
    shop = Shop(database)
    await shop.program(pending_days=0, expiry_days=None)
    customer, _ = await shop.order("100")
    template = await CouponTemplateService(wiring.uow_factory(database), shop.clock).create(
        TemplateFields(
            name="¥10 off ¥50",
            kind=CouponKind.AMOUNT_OFF,
            amount_off="10",
            min_spend="50",
            valid_days=30,
            per_customer_limit=5,
        )
    )
    reward = await wiring.rewards(database, shop.clock).create(
        RewardFields(
            name="¥10 coupon",
            points_cost=30,
            kind=RewardKind.COUPON,
            coupon_template_id=template.id,
        )
    )
    kept = await shop.redeem(customer, reward.id)
    cancelled = await shop.redeem(customer, reward.id)
    issued = CouponStatus.ISSUED.value
    assert await coupon_statuses(database) == {kept: issued, cancelled: issued}

    await wiring.redemptions(database, shop.clock).cancel(CancelRedemption(cancelled, "c-1"))

    assert await coupon_statuses(database) == {kept: issued, cancelled: CouponStatus.REVOKED.value}
    assert await shop.figures(customer) == (70, 0)
