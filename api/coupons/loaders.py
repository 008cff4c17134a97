"""Coupon templates and coupons by id, and customers' coupon pages, batched per request."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.loaders import LoaderKey, loader, request_loader
from domain.coupons import CouponStatus
from persistence import coupons as reads

if TYPE_CHECKING:
    from api.context import Context

COUPON_TEMPLATE = loader("coupon_template", reads.templates_by_ids, missing=None)
COUPON = loader("coupon", reads.coupons_by_ids, missing=None)
# Keyed by redemption id: the coupon a COUPON reward's redemption bought.
COUPON_OF_REDEMPTION = loader("coupon_of_redemption", reads.coupons_of_redemptions, missing=None)
# Keyed by (customer id, after, first): `Customer.coupons` pages, and their totalCount.
COUPON_PAGES = loader("coupon_pages", reads.coupon_pages, missing=None)
COUPON_COUNTS = loader("coupon_counts", reads.coupon_counts, missing=0)

Fetch = Callable[[AsyncSession, Sequence[Any]], Awaitable[Mapping[Any, Any]]]


def _as_of_now(read: Any, status: CouponStatus) -> Callable[[Context], Fetch]:
    """The read narrowed to the status a shopper sees as of the request's now."""

    def bind(context: Context) -> Fetch:
        return partial(read, status=status, now=context.now())

    return bind


# One pair per status filter of `me { coupons(status:) }`.
STATUS_PAGES: dict[CouponStatus, LoaderKey[Any, Any]] = {
    status: request_loader(
        f"coupon_pages_{status.value.lower()}",
        _as_of_now(reads.coupon_pages, status),
        missing=None,
    )
    for status in CouponStatus
}
STATUS_COUNTS: dict[CouponStatus, LoaderKey[Any, Any]] = {
    status: request_loader(
        f"coupon_counts_{status.value.lower()}",
        _as_of_now(reads.coupon_counts, status),
        missing=0,
    )
    for status in CouponStatus
}
