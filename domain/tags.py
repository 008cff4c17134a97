"""Tags: labels on customers, unique by name regardless of case.

Adding tags by name creates the names nobody has made yet, so an import can tag
customers without a separate "create tag" step.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from domain.clock import Clock
from domain.customers import CUSTOMERS, UNSET, check_not_merged, survivor_keys
from domain.errors import DomainError, ErrorCode, ErrorCollector, present
from domain.fields import bounded_list, optional_text, required_text
from domain.idempotency import retrying
from domain.unit_of_work import Port, UnitOfWork, UnitOfWorkFactory

MAX_TAG_NAME = 64
MAX_TAG_DESCRIPTION = 500
COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


class TagSource(StrEnum):
    MANUAL = "MANUAL"
    IMPORT = "IMPORT"
    RULE = "RULE"


@dataclass
class Tag:
    id: int | None
    name: str
    description: str | None = None
    color: str | None = None
    source: TagSource = TagSource.MANUAL
    created_at: datetime | None = None

    @property
    def key(self) -> str:
        return tag_key(self.name)


def tag_key(name: str) -> str:
    """The uniqueness key: trimmed and case-folded, so "VIP" and "vip" are one tag."""
    return name.strip().casefold()


@dataclass(frozen=True)
class CreateTag:
    name: str
    description: str | None = None
    color: str | None = None
    source: TagSource = TagSource.MANUAL


@dataclass(frozen=True)
class UpdateTag:
    tag_id: int
    name: Any = UNSET
    description: Any = UNSET
    color: Any = UNSET


@dataclass(frozen=True)
class ChangeCustomerTags:
    customer_ids: Sequence[int]
    tag_ids: Sequence[int] = ()
    tag_names: Sequence[str] = ()
    source: TagSource = TagSource.MANUAL


@dataclass(frozen=True)
class TagChangeResult:
    tags: list[Tag]
    customer_ids: list[int]
    changed: int


class TagRepository(Protocol):
    async def get(self, tag_id: int) -> Tag | None: ...
    async def by_keys(self, keys: Sequence[str]) -> list[Tag]: ...
    async def by_ids(self, tag_ids: Sequence[int]) -> list[Tag]: ...
    async def add(self, tag: Tag) -> Tag:
        """Adds the tag; a taken name fails the transaction as a unique violation
        (`ConcurrentWrite`), which the service retries."""
        ...

    async def save(self, tag: Tag) -> None: ...
    async def delete(self, tag_id: int) -> None: ...
    async def attach(self, customer_ids: Sequence[int], tag_ids: Sequence[int]) -> int: ...
    async def detach(self, customer_ids: Sequence[int], tag_ids: Sequence[int]) -> int: ...


TAGS: Port[TagRepository] = Port("tags")


def check_color(value: str | None, field: Sequence[str]) -> str | None:
    color = optional_text(value, field, max_length=7)
    if color is not None and not COLOR.match(color):
        raise DomainError(ErrorCode.INVALID, field, "color must look like #1A2B3C.")
    return color.upper() if color else None


class TagService:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self.uow_factory = uow_factory
        self.clock = clock

    async def create(self, command: CreateTag) -> Tag:
        errors = ErrorCollector()
        name = description = color = None
        try:
            name = required_text(command.name, ("name",), max_length=MAX_TAG_NAME)
        except DomainError as exc:
            errors.capture(exc)
        try:
            description = optional_text(
                command.description,
                ("description",),
                max_length=MAX_TAG_DESCRIPTION,
                multiline=True,
            )
        except DomainError as exc:
            errors.capture(exc)
        try:
            color = check_color(command.color, ("color",))
        except DomainError as exc:
            errors.capture(exc)
        errors.raise_if_any()
        tag_name = present(name, "name")

        async def attempt() -> Tag:
            # A concurrent create of the same name fails this insert; the retry then
            # finds the tag and refuses the name as taken.
            async with self.uow_factory() as uow:
                if await uow.repo(TAGS).by_keys([tag_key(tag_name)]):
                    raise DomainError(ErrorCode.TAKEN, ("name",), f"A tag {tag_name!r} exists.")
                tag = await uow.repo(TAGS).add(
                    Tag(None, tag_name, description, color, command.source, self.clock.now())
                )
                await uow.commit()
                return tag

        return await retrying(attempt)

    async def update(self, command: UpdateTag) -> Tag:
        # A concurrent rename to the same name fails the save; the retry refuses it.
        return await retrying(lambda: self._update_once(command))

    async def _update_once(self, command: UpdateTag) -> Tag:
        async with self.uow_factory() as uow:
            tag = await self._get(uow, command.tag_id)
            errors = ErrorCollector()
            changes: dict[str, Any] = {}
            if command.name is not UNSET:
                try:
                    changes["name"] = required_text(
                        command.name, ("name",), max_length=MAX_TAG_NAME
                    )
                except DomainError as exc:
                    errors.capture(exc)
            if command.description is not UNSET:
                try:
                    changes["description"] = optional_text(
                        command.description,
                        ("description",),
                        max_length=MAX_TAG_DESCRIPTION,
                        multiline=True,
                    )
                except DomainError as exc:
                    errors.capture(exc)
            if command.color is not UNSET:
                try:
                    changes["color"] = check_color(command.color, ("color",))
                except DomainError as exc:
                    errors.capture(exc)
            errors.raise_if_any()
            updated = replace(tag, **changes)
            if updated.key != tag.key and await uow.repo(TAGS).by_keys([updated.key]):
                raise DomainError(ErrorCode.TAKEN, ("name",), f"A tag {updated.name!r} exists.")
            await uow.repo(TAGS).save(updated)
            await uow.commit()
            return updated

    async def delete(self, tag_id: int) -> Tag:
        async with self.uow_factory() as uow:
            tag = await self._get(uow, tag_id)
            await uow.repo(TAGS).delete(tag_id)
            await uow.commit()
            return tag

    async def add_to_customers(self, command: ChangeCustomerTags) -> TagChangeResult:
        return await retrying(lambda: self._change(command, attach=True))

    async def remove_from_customers(self, command: ChangeCustomerTags) -> TagChangeResult:
        return await retrying(lambda: self._change(command, attach=False))

    async def _change(self, command: ChangeCustomerTags, *, attach: bool) -> TagChangeResult:
        errors = ErrorCollector()
        for name, items in (
            ("customer_ids", command.customer_ids),
            ("tag_ids", command.tag_ids),
            ("tag_names", command.tag_names),
        ):
            try:
                bounded_list(items, (name,))
            except DomainError as exc:
                errors.capture(exc)
        if not command.customer_ids:
            errors.add(ErrorCode.REQUIRED, ("customer_ids",), "Name at least one customer.")
        if not command.tag_ids and not command.tag_names:
            errors.add(ErrorCode.REQUIRED, ("tag_names",), "Name at least one tag.")
        names: dict[str, str] = {}
        for index, raw in enumerate(command.tag_names):
            try:
                name = required_text(raw, ("tag_names", str(index)), max_length=MAX_TAG_NAME)
            except DomainError as exc:
                errors.capture(exc)
                continue
            names.setdefault(tag_key(name), name)
        errors.raise_if_any()

        async with self.uow_factory() as uow:
            # A merged customer's id tags its survivor (docs/merging.md); the lock
            # keeps a merge from moving the tags away before these are written.
            customers = uow.repo(CUSTOMERS)
            survivors = await survivor_keys(customers, list(command.customer_ids))
            customer_ids = list(dict.fromkeys(survivors.get(c, c) for c in command.customer_ids))
            found = await customers.lock_many(customer_ids)
            check_not_merged(found.values())
            missing = [cid for cid in customer_ids if cid not in found]
            if missing:
                raise DomainError(
                    ErrorCode.NOT_FOUND,
                    ("customer_ids",),
                    f"{len(missing)} of the customers do not exist.",
                )
            tags = await uow.repo(TAGS).by_ids(list(dict.fromkeys(command.tag_ids)))
            if len(tags) != len(set(command.tag_ids)):
                raise DomainError(
                    ErrorCode.NOT_FOUND, ("tag_ids",), "Some of the tags do not exist."
                )
            by_name = {tag.key: tag for tag in await uow.repo(TAGS).by_keys(list(names))}
            for key, name in names.items():
                if key in by_name:
                    continue
                if attach:
                    tag = Tag(None, name, source=command.source, created_at=self.clock.now())
                    # A concurrent call creating the same name fails this insert;
                    # the retry (add_to_customers) then finds and uses that tag.
                    by_name[key] = await uow.repo(TAGS).add(tag)
            all_tags = list({t.id: t for t in [*tags, *by_name.values()]}.values())
            tag_ids = [present(t.id, "tag id") for t in all_tags]
            if attach:
                changed = await uow.repo(TAGS).attach(customer_ids, tag_ids)
            else:
                changed = await uow.repo(TAGS).detach(customer_ids, tag_ids)
            await uow.commit()
            return TagChangeResult(all_tags, customer_ids, changed)

    @staticmethod
    async def _get(uow: UnitOfWork, tag_id: int) -> Tag:
        tag = await uow.repo(TAGS).get(tag_id)
        if tag is None:
            raise DomainError(ErrorCode.NOT_FOUND, ("id",), "No tag has this id.")
        return tag
