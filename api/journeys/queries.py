"""`journeys`, `journey`."""

from __future__ import annotations

import strawberry

from api import ids
from api.areas import query_fields
from api.auth import requires
from api.journeys.types import JourneyStatus, JourneyType, load_journey
from api.pagination import Connection, paginate
from domain.access import Scope
from domain.journeys.model import JourneyStatus as Status
from persistence.journeys import reads

JOURNEYS_SORT = "NEWEST"


@query_fields(position=138)
@strawberry.type
class JourneyQuery:
    @strawberry.field(
        description="Journeys, newest first; archived ones only when asked (or by status).",
        permission_classes=[requires(Scope.JOURNEYS_READ)],
    )
    async def journeys(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        status: JourneyStatus | None = None,  # type: ignore[valid-type]
        include_archived: bool = False,
    ) -> Connection[JourneyType]:
        criteria = reads.JourneyFilter(
            status=Status(status) if status is not None else None,
            include_archived=include_archived,
        )
        return await paginate(
            sort=JOURNEYS_SORT,
            first=first,
            after=after,
            read=lambda key, size: info.context.read(reads.list_journeys, criteria, key, size),
            count=lambda: info.context.read(reads.count_journeys, criteria),
            to_node=JourneyType.from_domain,
            cursor_types=(int,),
        )

    @strawberry.field(
        description="One journey by global ID.", permission_classes=[requires(Scope.JOURNEYS_READ)]
    )
    async def journey(self, info: strawberry.Info, id: strawberry.ID) -> JourneyType | None:
        try:
            key = ids.decode(id, "Journey")
        except ValueError:
            return None
        return await load_journey(info, key)
