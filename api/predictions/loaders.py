"""The fit in use and customers' stored predictions, batched per request."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from api.loaders import loader
from domain.predictions.service import StoredFit
from persistence import predictions as reads

THE_FIT = 0


async def _current_fit(session: AsyncSession, keys: Sequence[int]) -> dict[int, StoredFit | None]:
    fit = await reads.current_fit(session)
    return {key: fit for key in keys}


# Keyed by THE_FIT: the fit in use, read once per request however many customers ask.
PREDICTION_FIT = loader("prediction_fit", _current_fit, missing=None)
# Keyed by customer id: the stored prediction (None: not a buyer at the fit's as-of).
CUSTOMER_PREDICTION = loader("customer_prediction", reads.predictions_of, missing=None)
