"""`Customer.prediction`."""

from __future__ import annotations

import asyncio

import strawberry

from api.areas import customer_fields
from api.auth import requires
from api.customers.base import CustomerFields
from api.predictions.loaders import CUSTOMER_PREDICTION, PREDICTION_FIT, THE_FIT
from api.predictions.types import CustomerPrediction
from domain.access import Scope


@customer_fields(position=95)
@strawberry.type
class CustomerPredictionFields(CustomerFields):
    @strawberry.field(
        description="Predicted value from the fit in use; null before any fit and for a "
        "customer without a counted order at the fit's as-of.",
        permission_classes=[requires(Scope.METRICS_READ)],
    )
    async def prediction(self, info: strawberry.Info) -> CustomerPrediction | None:
        context = info.context
        fit, stored, program = await asyncio.gather(
            context.loader(PREDICTION_FIT).load(THE_FIT),
            context.loader(CUSTOMER_PREDICTION).load(self.db_id),
            context.program(),
        )
        if fit is None or stored is None:
            return None
        return CustomerPrediction(fit=fit, stored=stored, currency=program.currency)
