"""A run: one (journey, customer, triggering event), what it did and why not.

The unique key (journey, customer, event) is what makes a journey act at most once
per triggering event: the fan-out inserts runs ignoring duplicates, and a run acts
only from WAITING, in the transaction that marks it finished.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from domain.journeys.model import ActionKind


class RunStatus(StrEnum):
    WAITING = "WAITING"
    """Due at `due_at` (the trigger plus the delay); acted on by the next worker pass."""
    COMPLETED = "COMPLETED"
    """Every action was taken (a step may still say SKIPPED, e.g. a spent budget)."""
    HOLDOUT = "HOLDOUT"
    """The customer fell in the journey's holdout: nothing done, measured as control."""
    SKIPPED = "SKIPPED"
    """Nothing done: `reason` says why (CONDITION_FALSE, JOURNEY_ARCHIVED …)."""
    FAILED = "FAILED"
    """A step was refused (`reason`); the steps before it stand, later ones were not tried."""


class RunReason(StrEnum):
    CONDITION_FALSE = "CONDITION_FALSE"
    """The journey's condition did not hold for the customer at trigger time."""
    JOURNEY_ARCHIVED = "JOURNEY_ARCHIVED"
    CUSTOMER_GONE = "CUSTOMER_GONE"
    """The customer was erased or merged into another before the run was due."""
    STEP_FAILED = "STEP_FAILED"
    ERROR = "ERROR"
    """An unexpected error, tried MAX_ATTEMPTS times; the worker's log has it."""


class StepStatus(StrEnum):
    DONE = "DONE"
    SKIPPED = "SKIPPED"
    FAILED = "FAILED"


@dataclass(frozen=True)
class Step:
    index: int
    kind: ActionKind
    status: StepStatus
    reason: str | None = None
    """SKIPPED/FAILED: a code (BUDGET_SPENT, NOT_ELIGIBLE, OUT_OF_STOCK …)."""
    message: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    """What it made: couponId and couponCode, messageId, points, tag."""

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "kind": self.kind.value,
            "status": self.status.value,
            "reason": self.reason,
            "message": self.message,
            "detail": self.detail,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Step:
        return cls(
            int(data["index"]),
            ActionKind(data["kind"]),
            StepStatus(data["status"]),
            data.get("reason"),
            data.get("message"),
            dict(data.get("detail") or {}),
        )


@dataclass(frozen=True)
class JourneyRun:
    id: int | None
    journey_id: int
    customer_id: int
    event_id: int
    event_type: str
    arm: str
    status: RunStatus
    due_at: datetime
    created_at: datetime
    finished_at: datetime | None = None
    reason: str | None = None
    steps: tuple[Step, ...] = ()
    attempts: int = 0


@dataclass(frozen=True)
class NewRun:
    journey_id: int
    customer_id: int
    event_id: int
    event_type: str
    arm: str
    status: RunStatus
    due_at: datetime
    reason: str | None = None
