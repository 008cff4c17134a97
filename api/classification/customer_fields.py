"""`Customer.lifecycleStage` and `Customer.rfm`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from api.areas import customer_fields
from api.classification.loaders import CUSTOMER_RFM, LIFECYCLE_STAGE
from api.classification.types import (
    CustomerRfmType,
    LifecycleStage,
    as_of_of,
    checked_lookback,
)
from api.customers.base import CustomerFields
from domain import classification as domain

AS_OF = "Default now; only orders placed at or before this instant count."


@customer_fields(position=80)
@strawberry.type
class CustomerClassificationFields(CustomerFields):
    @strawberry.field(description="The lifecycle stage from counted orders up to asOf.")
    async def lifecycle_stage(
        self,
        info: strawberry.Info,
        as_of: Annotated[datetime | None, strawberry.argument(description=AS_OF)] = None,
    ) -> LifecycleStage:  # type: ignore[valid-type]
        stage: domain.LifecycleStage = await info.context.loader(LIFECYCLE_STAGE).load(
            (self.db_id, as_of_of(info, as_of))
        )
        return stage

    @strawberry.field(description="RFM as of asOf; null when no counted order is in the window.")
    async def rfm(
        self,
        info: strawberry.Info,
        as_of: Annotated[datetime | None, strawberry.argument(description=AS_OF)] = None,
        lookback_days: Annotated[
            int | None,
            strawberry.argument(
                description="Only orders at most this many days before asOf count."
            ),
        ] = None,
    ) -> CustomerRfmType | None:
        key = (self.db_id, as_of_of(info, as_of), checked_lookback(lookback_days))
        rfm = await info.context.loader(CUSTOMER_RFM).load(key)
        return CustomerRfmType.from_domain(rfm) if rfm else None
