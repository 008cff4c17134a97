"""`feedbackRecord`."""

from __future__ import annotations

import strawberry

from api.areas import mutation_fields
from api.auth import requires
from api.errors import UserError
from api.feedback.inputs import FeedbackRecordInput, record_command
from api.feedback.types import FeedbackType
from api.payloads import refusals_as_user_errors
from domain import feedback as domain
from domain.access import Scope


@strawberry.type
class FeedbackRecordPayload:
    feedback: FeedbackType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@mutation_fields(position=95)
@strawberry.type
class FeedbackMutation:
    @strawberry.mutation(
        description="Records a customer's NPS or CSAT answer.",
        permission_classes=[requires(Scope.FEEDBACK_WRITE)],
    )
    @refusals_as_user_errors(FeedbackRecordPayload)
    async def feedback_record(
        self, info: strawberry.Info, input: FeedbackRecordInput
    ) -> FeedbackRecordPayload:
        service = domain.FeedbackService(info.context.uow, info.context.clock)
        feedback = await service.record(record_command(input))
        return FeedbackRecordPayload(feedback=FeedbackType.from_domain(feedback))
