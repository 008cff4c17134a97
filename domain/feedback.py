"""Customer feedback: NPS (0–10, "how likely are you to recommend us") and CSAT
(1–5, "how satisfied were you") answers, optionally about one order.

An answer is kept as given and never edited; the scores feed NPS and CSAT in the
retention metrics of the period the answer was recorded in.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from domain.clock import Clock
from domain.customers import CUSTOMERS, check_not_merged, survivor_id
from domain.errors import DomainError, ErrorCode, ErrorCollector
from domain.fields import optional_text
from domain.idempotency import retrying
from domain.unit_of_work import Port, UnitOfWorkFactory

MAX_COMMENT = 2000


class FeedbackKind(StrEnum):
    NPS = "NPS"
    CSAT = "CSAT"


SCORE_RANGE: dict[FeedbackKind, tuple[int, int]] = {
    FeedbackKind.NPS: (0, 10),
    FeedbackKind.CSAT: (1, 5),
}


@dataclass(frozen=True)
class Feedback:
    id: int | None
    customer_id: int
    kind: FeedbackKind
    score: int
    comment: str | None
    order_id: int | None
    created_at: datetime


@dataclass(frozen=True)
class RecordFeedback:
    customer_id: int
    kind: FeedbackKind
    score: int
    comment: str | None = None
    order_id: int | None = None


class FeedbackRepository(Protocol):
    async def add(self, feedback: Feedback) -> Feedback: ...

    async def order_owner(self, order_id: int) -> int | None:
        """The customer id of the order, or None when there is no such order."""
        ...


FEEDBACK: Port[FeedbackRepository] = Port("feedback")


def check_answer(command: RecordFeedback, errors: ErrorCollector) -> str | None:
    """The trimmed comment; every problem of the answer itself goes to `errors`."""
    low, high = SCORE_RANGE[command.kind]
    if not low <= command.score <= high:
        errors.add(
            ErrorCode.INVALID,
            ("score",),
            f"A {command.kind.value} score is a whole number from {low} to {high}.",
        )
    try:
        return optional_text(command.comment, ("comment",), max_length=MAX_COMMENT, multiline=True)
    except DomainError as exc:
        errors.capture(exc)
        return None


class FeedbackService:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self.uow_factory = uow_factory
        self.clock = clock

    async def record(self, command: RecordFeedback) -> Feedback:
        errors = ErrorCollector()
        comment = check_answer(command, errors)
        return await retrying(lambda: self._record_once(command, comment, errors))

    async def _record_once(
        self, command: RecordFeedback, comment: str | None, checked: ErrorCollector
    ) -> Feedback:
        errors = ErrorCollector()
        for error in checked.errors:
            errors.capture(error)
        async with self.uow_factory() as uow:
            # A merged customer's id records for its survivor (docs/merging.md), whose
            # orders the merge moved too; the lock keeps a merge from moving the
            # feedback away before this answer is written.
            command = replace(command, customer_id=await survivor_id(uow, command.customer_id))
            customer = await uow.repo(CUSTOMERS).get(command.customer_id, for_update=True)
            check_not_merged([customer])
            if customer is None:
                errors.add(ErrorCode.NOT_FOUND, ("customer_id",), "No customer has this id.")
            elif customer.erased_at is not None:
                errors.add(
                    ErrorCode.ERASED,
                    ("customer_id",),
                    "This customer's personal data was erased; their feedback is not kept.",
                )
            if command.order_id is not None:
                owner = await uow.repo(FEEDBACK).order_owner(command.order_id)
                if owner is None:
                    errors.add(ErrorCode.NOT_FOUND, ("order_id",), "No order has this id.")
                elif owner != command.customer_id:
                    errors.add(
                        ErrorCode.INVALID,
                        ("order_id",),
                        "This order belongs to another customer.",
                    )
            errors.raise_if_any()
            feedback = await uow.repo(FEEDBACK).add(
                Feedback(
                    id=None,
                    customer_id=command.customer_id,
                    kind=command.kind,
                    score=command.score,
                    comment=comment,
                    order_id=command.order_id,
                    created_at=self.clock.now(),
                )
            )
            await uow.commit()
            return feedback
