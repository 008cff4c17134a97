"""`Customer.coupons`."""

from __future__ import annotations

import strawberry

from api.areas import customer_fields
from api.auth import requires
from api.coupons.loaders import COUPON_COUNTS, COUPON_PAGES
from api.coupons.types import CouponType
from api.customers.base import CustomerFields
from api.pagination import Connection, paginate_per_parent
from domain.access import Scope

COUPONS_SORT = "NEWEST"


@customer_fields(position=45)
@strawberry.type
class CustomerCouponFields(CustomerFields):
    @strawberry.field(
        description="Coupons issued to the customer, newest first.",
        permission_classes=[requires(Scope.COUPONS_READ)],
    )
    async def coupons(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> Connection[CouponType]:
        return await paginate_per_parent(
            info,
            self.db_id,
            sort=COUPONS_SORT,
            first=first,
            after=after,
            pages=COUPON_PAGES,
            counts=COUPON_COUNTS,
            to_node=CouponType.from_domain,
        )
