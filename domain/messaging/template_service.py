"""Admin commands on message templates, and the preview."""

from __future__ import annotations

from dataclasses import replace

from domain.clock import Clock
from domain.errors import DomainError, ErrorCode
from domain.messaging.pipeline import RECIPIENTS, template_variables
from domain.messaging.templates import (
    PREVIEW_VALUES,
    TEMPLATES,
    MessageTemplate,
    Rendered,
    RenderError,
    TemplateFields,
    TemplateRepository,
    apply_fields,
    render,
)
from domain.messaging.unsubscribe import UnsubscribeLinks
from domain.unit_of_work import UnitOfWorkFactory


class TemplateService:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self.uow_factory = uow_factory
        self.clock = clock

    async def create(self, given: TemplateFields) -> MessageTemplate:
        template = apply_fields(None, given, self.clock.now())
        async with self.uow_factory() as uow:
            saved = await uow.repo(TEMPLATES).add(template)
            await uow.commit()
            return saved

    async def update(self, template_id: int, given: TemplateFields) -> MessageTemplate:
        async with self.uow_factory() as uow:
            current = await self._get(uow.repo(TEMPLATES), template_id)
            if current.archived_at is not None:
                raise DomainError(
                    ErrorCode.TEMPLATE_ARCHIVED, ("id",), "An archived template cannot change."
                )
            template = apply_fields(current, given, self.clock.now())
            await uow.repo(TEMPLATES).save(template)
            await uow.commit()
            return template

    async def archive(self, template_id: int) -> MessageTemplate:
        """Archived: kept for the messages that name it, never sent again (a queued
        message reaching it records FAILED and falls back to its next template)."""
        async with self.uow_factory() as uow:
            template = await self._get(uow.repo(TEMPLATES), template_id)
            if template.archived_at is None:
                now = self.clock.now()
                template = replace(template, archived_at=now, updated_at=now)
                await uow.repo(TEMPLATES).save(template)
            await uow.commit()
            return template

    async def preview(
        self, template_id: int, customer_id: int, links: UnsubscribeLinks
    ) -> Rendered:
        """The template rendered for the customer, with sample values for the
        variables a message brings (`PREVIEW_VALUES`)."""
        async with self.uow_factory() as uow:
            template = await self._get(uow.repo(TEMPLATES), template_id)
            recipient = await uow.repo(RECIPIENTS).recipient(customer_id)
        if recipient is None:
            raise DomainError(
                ErrorCode.NOT_FOUND, ("customer_id",), "No customer (not erased) has this id."
            )
        variables = template_variables(recipient, PREVIEW_VALUES)
        variables["unsubscribe_url"] = links.url(customer_id, template.channel)
        try:
            return render(template, variables)
        except RenderError as exc:
            raise DomainError(ErrorCode.INVALID, ("template_id",), str(exc)) from None

    @staticmethod
    async def _get(repo: TemplateRepository, template_id: int) -> MessageTemplate:
        found = await repo.get(template_id, for_update=True)
        if found is None:
            raise DomainError(ErrorCode.NOT_FOUND, ("id",), "No message template has this id.")
        return found
