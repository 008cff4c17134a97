"""`predictionModel` and `predictionCalibration`."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.areas import query_fields
from api.auth import requires
from api.errors import BadUserInput
from api.predictions.loaders import PREDICTION_FIT, THE_FIT
from api.predictions.types import PredictionCalibration, PredictionModel
from domain.access import Scope
from domain.errors import DomainError
from domain.predictions.service import calibrate


@query_fields(position=145)
@strawberry.type
class PredictionQuery:
    @strawberry.field(
        description="The fit in use (null before the first fit that converged).",
        permission_classes=[requires(Scope.METRICS_READ)],
    )
    async def prediction_model(self, info: strawberry.Info) -> PredictionModel | None:
        fit = await info.context.loader(PREDICTION_FIT).load(THE_FIT)
        return PredictionModel.from_domain(fit) if fit is not None else None

    @strawberry.field(
        description="Fits on the history up to `cutoff` and compares each buyer's "
        "expected purchases over the next `holdoutDays` with the purchase days they had "
        "(nothing is stored; the holdout must end before now).",
        permission_classes=[requires(Scope.METRICS_READ)],
    )
    async def prediction_calibration(
        self, info: strawberry.Info, cutoff: datetime, holdout_days: int
    ) -> PredictionCalibration:
        context = info.context
        try:
            report = await calibrate(context.uow, cutoff, holdout_days, context.now())
        except DomainError as exc:
            raise BadUserInput(exc.message) from None
        return PredictionCalibration.from_domain(report)
