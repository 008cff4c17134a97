"""The coupon rules of docs/coupons.md without a database: windows at their edges, the
minimum spend at exactly the threshold, percent off and its cap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from domain.coupons import (
    Cart,
    CartLine,
    Coupon,
    CouponKind,
    CouponRefusal,
    CouponStatus,
    CouponTemplate,
    discount_for,
    spend_refusal,
    time_refusal,
)

START = datetime(2026, 7, 1, tzinfo=UTC)
END = datetime(2026, 7, 8, tzinfo=UTC)
TICK = timedelta(microseconds=1)


def coupon(status: CouponStatus = CouponStatus.ISSUED) -> Coupon:
    return Coupon(None, 1, 1, "X" * 13, status, START, END, START)


def template(**terms) -> CouponTemplate:  # noqa: ANN003
    return CouponTemplate(None, "t", **terms)


def test_the_window_includes_its_start_and_excludes_its_end():
    reasons = [time_refusal(coupon(), at) for at in (START - TICK, START, END - TICK, END)]
    assert [r[0] if r else None for r in reasons] == [
        CouponRefusal.NOT_YET_VALID,
        None,
        None,
        CouponRefusal.EXPIRED,
    ]


def test_used_comes_before_expired():
    refusal = time_refusal(coupon(CouponStatus.USED), END + timedelta(days=1))
    assert refusal is not None and refusal[0] is CouponRefusal.ALREADY_USED
    assert coupon().status_at(END) is CouponStatus.EXPIRED
    assert coupon().status_at(END - TICK) is CouponStatus.ISSUED


def test_minimum_spend_exactly_at_the_threshold_applies():
    full_reduction = template(
        kind=CouponKind.AMOUNT_OFF, amount_off=Decimal("30.00"), min_spend=Decimal("200.00")
    )
    assert spend_refusal(full_reduction, Cart(Decimal("200.00"))) is None
    refused = spend_refusal(full_reduction, Cart(Decimal("199.99")))
    assert refused is not None and refused[0] is CouponRefusal.MIN_SPEND_NOT_MET
    assert discount_for(full_reduction, Cart(Decimal("200.00"))).amount == Decimal("30.00")


def test_a_discount_never_exceeds_the_cart():
    big = template(kind=CouponKind.AMOUNT_OFF, amount_off=Decimal("50.00"))
    assert discount_for(big, Cart(Decimal("20.00"))).amount == Decimal("20.00")


def test_percent_off_rounds_half_up_then_caps():
    nine = template(kind=CouponKind.PERCENT_OFF, percent_off=Decimal("10"))
    assert discount_for(nine, Cart(Decimal("0.05"))).amount == Decimal("0.01")  # 0.005 up
    assert discount_for(nine, Cart(Decimal("123.44"))).amount == Decimal("12.34")
    capped = template(
        kind=CouponKind.PERCENT_OFF, percent_off=Decimal("20"), max_discount=Decimal("50.00")
    )
    assert discount_for(capped, Cart(Decimal("249.99"))).amount == Decimal("50.00")
    assert discount_for(capped, Cart(Decimal("240.00"))).amount == Decimal("48.00")


def test_free_product_takes_one_unit_when_in_the_cart():
    gift = template(kind=CouponKind.FREE_PRODUCT, product_sku="MUG")
    lines = (CartLine("MUG", 3, Decimal("25.00")), CartLine("TEA", 1, Decimal("40.00")))
    assert discount_for(gift, Cart(Decimal("115.00"), lines)).amount == Decimal("25.00")
    absent = discount_for(gift, Cart(Decimal("40.00"), lines[1:]))
    assert (absent.amount, absent.free_product_sku) == (Decimal("0.00"), "MUG")


def test_days_from_issue_end_at_the_first_local_midnight_at_or_after():
    zone = ZoneInfo("Asia/Shanghai")
    week = template(kind=CouponKind.FREE_SHIPPING, valid_days=7)
    late = datetime(2026, 7, 1, 23, 30, tzinfo=zone).astimezone(UTC)
    assert week.window_at_issue(late, zone)[1] == datetime(2026, 7, 9, tzinfo=zone)
    midnight = datetime(2026, 7, 1, tzinfo=zone).astimezone(UTC)
    assert week.window_at_issue(midnight, zone) == (midnight, datetime(2026, 7, 8, tzinfo=zone))
