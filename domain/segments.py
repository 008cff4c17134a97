"""Segments: named rules that say which customers belong, evaluated as of any instant.

A saved segment stores its rule as text (what the marketer wrote, comments of
layout included) and is re-parsed whenever it is evaluated; the rule is checked when
it is saved, so a saved rule always parses. Membership is never stored: it is
computed from the data as of the instant asked, like every classification.

The six lifecycle stages and the eight RFM classes are built-in, read-only segments
with the seed names of docs/segments.md; they have ids of their own (keys 1–14 of the
`BuiltInSegment` kind) and cannot be changed or deleted. A saved segment may not take
a built-in's name, so a name always means one segment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from domain.clock import Clock
from domain.customers import UNSET
from domain.errors import DomainError, ErrorCode, ErrorCollector, InvalidInput
from domain.fields import optional_text, required_text
from domain.segment_rules import (
    LIFECYCLE_STAGES,
    MAX_RULE_LENGTH,
    RFM_CLASSES,
    Rule,
    RuleErrors,
    parse_rule,
)
from domain.unit_of_work import Port, UnitOfWork, UnitOfWorkFactory

MAX_SEGMENT_NAME = 100
MAX_SEGMENT_DESCRIPTION = 500

LIFECYCLE_NAMES = {
    "PROSPECT": "潜在客户",
    "NEW": "新客户",
    "LOYAL": "忠诚客户",
    "ACTIVE": "活跃客户",
    "SILENT": "沉默客户",
    "CHURNED": "流失客户",
}
RFM_NAMES = {
    "IMPORTANT_VALUE": "重要价值客户",
    "IMPORTANT_DEVELOP": "重要发展客户",
    "IMPORTANT_RETAIN": "重要保持客户",
    "IMPORTANT_WINBACK": "重要挽留客户",
    "GENERAL_VALUE": "一般价值客户",
    "GENERAL_DEVELOP": "一般发展客户",
    "GENERAL_RETAIN": "一般保持客户",
    "GENERAL_WINBACK": "一般挽留客户",
}


@dataclass
class Segment:
    id: int | None
    name: str
    rule: str
    description: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    built_in: bool = False

    @property
    def key(self) -> str:
        return segment_key(self.name)


def segment_key(name: str) -> str:
    """Names are unique ignoring case and surrounding spaces."""
    return name.strip().casefold()


def _built_ins() -> tuple[Segment, ...]:
    stages = [
        Segment(
            id=index,
            name=LIFECYCLE_NAMES[stage],
            rule=f"lifecycle = {stage}",
            description=f"Lifecycle stage {stage}.",
            built_in=True,
        )
        for index, stage in enumerate(LIFECYCLE_STAGES, start=1)
    ]
    classes = [
        Segment(
            id=len(LIFECYCLE_STAGES) + index,
            name=RFM_NAMES[name],
            rule=f"rfm_class = {name}",
            description=f"RFM class {name}.",
            built_in=True,
        )
        for index, name in enumerate(RFM_CLASSES, start=1)
    ]
    return (*stages, *classes)


BUILT_IN_SEGMENTS: tuple[Segment, ...] = _built_ins()
BUILT_IN_BY_ID = {segment.id: segment for segment in BUILT_IN_SEGMENTS}
BUILT_IN_KEYS = {segment.key for segment in BUILT_IN_SEGMENTS}


def built_in_refusal(segment_id: int) -> DomainError:
    segment = BUILT_IN_BY_ID.get(segment_id)
    if segment is None:
        return DomainError(ErrorCode.NOT_FOUND, ("id",), "No segment has this id.")
    return DomainError(
        ErrorCode.READ_ONLY,
        ("id",),
        f"{segment.name} is a built-in segment and cannot be changed or deleted; "
        f"create a segment of your own with the rule {segment.rule!r} instead.",
    )


def check_rule(text: str | None, field: Sequence[str] = ("rule",)) -> Rule:
    """The parsed rule, or every problem in it as refusals on `field`."""
    source = (text or "").strip()
    if not source:
        raise DomainError(
            ErrorCode.REQUIRED, field, "rule must not be empty: write e.g. total_spent > 500."
        )
    if len(source) > MAX_RULE_LENGTH:
        raise DomainError(
            ErrorCode.TOO_LONG, field, f"rule is longer than {MAX_RULE_LENGTH} characters."
        )
    try:
        return parse_rule(text or "")
    except RuleErrors as exc:
        raise InvalidInput(
            DomainError(ErrorCode.INVALID_RULE, field, error.message) for error in exc.errors
        ) from None


@dataclass(frozen=True)
class CreateSegment:
    name: str
    rule: str
    description: str | None = None


@dataclass(frozen=True)
class UpdateSegment:
    segment_id: int
    name: Any = UNSET
    rule: Any = UNSET
    description: Any = UNSET


class SegmentRepository(Protocol):
    async def get(self, segment_id: int, *, for_update: bool = False) -> Segment | None: ...
    async def by_key(self, key: str) -> Segment | None: ...
    async def add(self, segment: Segment) -> Segment: ...
    async def save(self, segment: Segment) -> None: ...
    async def delete(self, segment_id: int) -> None: ...


SEGMENTS: Port[SegmentRepository] = Port("segments")


def _checked(name: Any, rule: Any, description: Any, errors: ErrorCollector) -> dict[str, Any]:
    """The fields that were sent, trimmed and checked; problems go to `errors`."""
    changes: dict[str, Any] = {}
    if name is not UNSET:
        try:
            changes["name"] = required_text(name, ("name",), max_length=MAX_SEGMENT_NAME)
            if segment_key(changes["name"]) in BUILT_IN_KEYS:
                errors.add(
                    ErrorCode.TAKEN,
                    ("name",),
                    f"{changes['name']} is the name of a built-in segment.",
                )
        except DomainError as exc:
            errors.capture(exc)
    if rule is not UNSET:
        try:
            check_rule(rule)
            changes["rule"] = rule.strip()
        except DomainError as exc:
            errors.capture(exc)
        except InvalidInput as exc:
            errors.errors.extend(exc.errors)
    if description is not UNSET:
        try:
            changes["description"] = optional_text(
                description, ("description",), max_length=MAX_SEGMENT_DESCRIPTION, multiline=True
            )
        except DomainError as exc:
            errors.capture(exc)
    return changes


class SegmentService:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self.uow_factory = uow_factory
        self.clock = clock

    async def create(self, command: CreateSegment) -> Segment:
        errors = ErrorCollector()
        fields = _checked(command.name, command.rule, command.description, errors)
        errors.raise_if_any()
        now = self.clock.now()
        async with self.uow_factory() as uow:
            if await uow.repo(SEGMENTS).by_key(segment_key(fields["name"])) is not None:
                raise DomainError(
                    ErrorCode.TAKEN, ("name",), f"A segment {fields['name']!r} exists."
                )
            segment = await uow.repo(SEGMENTS).add(
                Segment(None, created_at=now, updated_at=now, **fields)
            )
            await uow.commit()
            return segment

    async def update(self, command: UpdateSegment) -> Segment:
        errors = ErrorCollector()
        changes = _checked(command.name, command.rule, command.description, errors)
        errors.raise_if_any()
        async with self.uow_factory() as uow:
            segment = await self._get(uow, command.segment_id)
            updated = replace(segment, **changes)
            if updated.key != segment.key and await uow.repo(SEGMENTS).by_key(updated.key):
                raise DomainError(
                    ErrorCode.TAKEN, ("name",), f"A segment {updated.name!r} exists."
                )
            if updated != segment:
                updated.updated_at = self.clock.now()
                await uow.repo(SEGMENTS).save(updated)
            await uow.commit()
            return updated

    async def delete(self, segment_id: int) -> Segment:
        async with self.uow_factory() as uow:
            segment = await self._get(uow, segment_id)
            await uow.repo(SEGMENTS).delete(segment_id)
            await uow.commit()
            return segment

    @staticmethod
    async def _get(uow: UnitOfWork, segment_id: int) -> Segment:
        segment = await uow.repo(SEGMENTS).get(segment_id, for_update=True)
        if segment is None:
            raise DomainError(ErrorCode.NOT_FOUND, ("id",), "No segment has this id.")
        return segment
