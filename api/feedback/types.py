"""The Feedback type."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from api import ids
from api.conversion import from_domain
from api.customers.nodes import load_customer
from api.node import Node, register
from api.orders.types import OrderType, load_order
from domain import feedback as domain
from domain.access import Scope
from persistence import feedback as reads

if TYPE_CHECKING:
    from api.customers.types import CustomerType

FeedbackKind = strawberry.enum(
    domain.FeedbackKind,
    name="FeedbackKind",
    description="NPS: 0–10, likelihood to recommend. CSAT: 1–5, satisfaction.",
)


@strawberry.type(name="Feedback", description="One NPS or CSAT answer of a customer.")
class FeedbackType(Node):
    id: strawberry.ID
    kind: FeedbackKind  # type: ignore[valid-type]
    score: int
    comment: str | None
    created_at: datetime
    db_id: strawberry.Private[int]
    customer_key: strawberry.Private[int]
    order_key: strawberry.Private[int | None]

    @classmethod
    def from_domain(cls, feedback: domain.Feedback) -> FeedbackType:
        return from_domain(
            cls,
            feedback,
            id=strawberry.ID(ids.encode("Feedback", feedback.id)),
            db_id=feedback.id,
            customer_key=feedback.customer_id,
            order_key=feedback.order_id,
        )

    @strawberry.field(description="The order the answer is about, if any.")
    async def order(self, info: strawberry.Info) -> OrderType | None:
        return None if self.order_key is None else await load_order(info, self.order_key)

    @strawberry.field(description="Who answered.")
    async def customer(
        self, info: strawberry.Info
    ) -> Annotated[CustomerType, strawberry.lazy("api.customers.types")] | None:
        return await load_customer(info, self.customer_key)


@register("Feedback", Scope.CUSTOMERS_READ)
async def fetch_feedback(info: strawberry.Info, key: int) -> FeedbackType | None:
    found = await info.context.read(reads.feedback_by_ids, [key])
    return FeedbackType.from_domain(found[key]) if key in found else None
