"""`Customer.feedback`."""

from __future__ import annotations

import strawberry

from api.areas import customer_fields
from api.customers.base import CustomerFields
from api.feedback.loaders import FEEDBACK_COUNTS, FEEDBACK_PAGES
from api.feedback.types import FeedbackType
from api.pagination import Connection, paginate

SORT = "CREATED_AT_DESC"


@customer_fields(position=70)
@strawberry.type
class CustomerFeedbackFields(CustomerFields):
    @strawberry.field(description="The customer's NPS and CSAT answers, newest first.")
    async def feedback(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> Connection[FeedbackType]:
        return await paginate(
            sort=SORT,
            first=first,
            after=after,
            read=lambda key, size: info.context.loader(FEEDBACK_PAGES).load(
                (self.db_id, key, size)
            ),
            count=lambda: info.context.loader(FEEDBACK_COUNTS).load(self.db_id),
            to_node=FeedbackType.from_domain,
        )
