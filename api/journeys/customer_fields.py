"""`Customer.journeyRuns`."""

from __future__ import annotations

import strawberry

from api.areas import customer_fields
from api.auth import requires
from api.customers.base import CustomerFields
from api.journeys.loaders import RUN_COUNTS, RUN_PAGES
from api.journeys.types import JourneyRunType
from api.pagination import Connection, paginate_per_parent
from domain.access import Scope

RUNS_SORT = "NEWEST"


@customer_fields(position=138)
@strawberry.type
class CustomerJourneyFields(CustomerFields):
    @strawberry.field(
        description="What the customer went through: each journey run, newest first, with "
        "its steps and why one was skipped.",
        permission_classes=[requires(Scope.JOURNEYS_READ)],
    )
    async def journey_runs(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> Connection[JourneyRunType]:
        return await paginate_per_parent(
            info,
            self.db_id,
            sort=RUNS_SORT,
            first=first,
            after=after,
            pages=RUN_PAGES,
            counts=RUN_COUNTS,
            to_node=JourneyRunType.from_domain,
        )
