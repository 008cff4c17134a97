"""`feedbackRecord` input."""

from __future__ import annotations

import strawberry

from api.errors import decode_input_id
from api.feedback.types import FeedbackKind
from domain import feedback as domain
from domain.errors import DomainError, ErrorCollector


@strawberry.input
class FeedbackRecordInput:
    customer_id: strawberry.ID
    kind: FeedbackKind  # type: ignore[valid-type]
    score: int = strawberry.field(description="NPS: 0–10. CSAT: 1–5.")
    comment: str | None = strawberry.field(default=None, description="Up to 2000 characters.")
    order_id: strawberry.ID | None = strawberry.field(
        default=None, description="The customer's order the answer is about."
    )


def record_command(data: FeedbackRecordInput) -> domain.RecordFeedback:
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
