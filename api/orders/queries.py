"""`order`."""

from __future__ import annotations

import strawberry

from api import ids
from api.areas import query_fields
from api.auth import requires
from api.errors import BadUserInput
from api.orders.loaders import ORDER, ORDER_BY_EXTERNAL_ID
from api.orders.types import OrderType
from domain.access import Scope


@query_fields(position=50)
@strawberry.type
class OrderQuery:
    @strawberry.field(
        description="One order by global ID or by your externalId.",
        permission_classes=[requires(Scope.CUSTOMERS_READ)],
    )
    async def order(
        self, info: strawberry.Info, id: strawberry.ID | None = None, external_id: str | None = None
    ) -> OrderType | None:
        if id is not None and external_id is None:
            try:
                order = await info.context.loader(ORDER).load(ids.decode(id, "Order"))
            except ValueError:
                return None
        elif external_id is not None and id is None:
            order = await info.context.loader(ORDER_BY_EXTERNAL_ID).load(external_id)
        else:
            raise BadUserInput("Give exactly one of id and externalId.")
        return OrderType.from_domain(order) if order else None
