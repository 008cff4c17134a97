"""`Customer.segments`."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.areas import customer_fields
from api.auth import requires
from api.customers.base import CustomerFields
from api.segments.loaders import SEGMENTS_OF_CUSTOMER
from api.segments.types import SegmentType, as_of_of
from domain.access import Scope


@customer_fields(position=60)
@strawberry.type
class CustomerSegmentFields(CustomerFields):
    @strawberry.field(
        description="The saved and built-in segments this customer is in as of asOf (default now).",
        permission_classes=[requires(Scope.SEGMENTS_READ)],
    )
    async def segments(
        self, info: strawberry.Info, as_of: datetime | None = None
    ) -> list[SegmentType]:
        found = await info.context.loader(SEGMENTS_OF_CUSTOMER).load(
            (self.db_id, as_of_of(info, as_of))
        )
        return [SegmentType.from_domain(segment) for segment in found]
