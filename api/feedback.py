"""Feedback over GraphQL: the type, `feedbackRecord`, and `Customer.feedback`."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api import ids
from api.auth import require
from api.customers import CustomerType
from api.errors import UserError, decode_input_id, user_errors
from api.node import Node, register
from api.orders import OrderType
from api.pagination import Connection, connection, decode_cursor, page_size
from domain import feedback as domain
from domain.access import Scope
from domain.errors import DomainError, ErrorCollector, InvalidInput
from persistence import feedback as reads

FeedbackKind = strawberry.enum(
    domain.FeedbackKind,
    name="FeedbackKind",
    description="NPS: 0–10, likelihood to recommend. CSAT: 1–5, satisfaction.",
)
SORT = "CREATED_AT_DESC"


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
        return cls(
            id=strawberry.ID(ids.encode("Feedback", feedback.id)),
            kind=feedback.kind,
            score=feedback.score,
            comment=feedback.comment,
            created_at=feedback.created_at,
            db_id=feedback.id,
            customer_key=feedback.customer_id,
            order_key=feedback.order_id,
        )

    @strawberry.field(description="The order the answer is about, if any.")
    async def order(self, info: strawberry.Info) -> OrderType | None:
        if self.order_key is None:
            return None
        order = await info.context.loaders.order.load(self.order_key)
        return OrderType.from_domain(order) if order else None

    @strawberry.field(description="Who answered.")
    async def customer(self, info: strawberry.Info) -> CustomerType | None:
        customer = await info.context.loaders.customer.load(self.customer_key)
        return CustomerType.from_domain(customer) if customer else None


@register("Feedback", Scope.CUSTOMERS_READ)
async def fetch_feedback(info: strawberry.Info, key: int) -> FeedbackType | None:
    found = await info.context.read(reads.feedback_by_ids, [key])
    return FeedbackType.from_domain(found[key]) if key in found else None


async def feedback_connection(
    info: strawberry.Info, customer_id: int, first: int | None, after: str | None
) -> Connection[FeedbackType]:
    size = page_size(first)
    key = decode_cursor(after, SORT) if after else None
    page = await info.context.read(reads.feedback_of_customer, customer_id, key, size)
    return connection(
        page,
        SORT,
        FeedbackType.from_domain,
        lambda: info.context.read(reads.count_feedback_of_customer, customer_id),
        after=after,
    )


@strawberry.input
class FeedbackRecordInput:
    customer_id: strawberry.ID
    kind: FeedbackKind  # type: ignore[valid-type]
    score: int = strawberry.field(description="NPS: 0–10. CSAT: 1–5.")
    comment: str | None = strawberry.field(default=None, description="Up to 2000 characters.")
    order_id: strawberry.ID | None = strawberry.field(
        default=None, description="The customer's order the answer is about."
    )


@strawberry.type
class FeedbackRecordPayload:
    feedback: FeedbackType | None
    user_errors: list[UserError]


def _command(data: FeedbackRecordInput) -> domain.RecordFeedback:
    errors = ErrorCollector()
    customer_id = order_id = 0
    try:
        customer_id = decode_input_id(data.customer_id, "Customer", ("input", "customerId"))
    except DomainError as exc:
        errors.capture(exc)
    if data.order_id is not None:
        try:
            order_id = decode_input_id(data.order_id, "Order", ("input", "orderId"))
        except DomainError as exc:
            errors.capture(exc)
    errors.raise_if_any()
    return domain.RecordFeedback(
        customer_id=customer_id,
        kind=data.kind,
        score=data.score,
        comment=data.comment,
        order_id=order_id if data.order_id is not None else None,
    )


@strawberry.type
class FeedbackMutation:
    @strawberry.mutation(description="Records a customer's NPS or CSAT answer.")
    async def feedback_record(
        self, info: strawberry.Info, input: FeedbackRecordInput
    ) -> FeedbackRecordPayload:
        require(info, Scope.FEEDBACK_WRITE)
        try:
            service = domain.FeedbackService(info.context.uow, info.context.clock)
            feedback = await service.record(_command(input))
        except (DomainError, InvalidInput) as exc:
            return FeedbackRecordPayload(feedback=None, user_errors=user_errors(exc))
        return FeedbackRecordPayload(feedback=FeedbackType.from_domain(feedback), user_errors=[])
