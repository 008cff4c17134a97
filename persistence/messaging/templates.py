"""Message templates: the repository behind domain TEMPLATES.

One JSON column holds what differs by channel: a WeChat template's data mapping
(an object) or an SMS template's parameters (a list)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.messaging.templates import TEMPLATES, MessageTemplate, TemplateChannel
from persistence.messaging.rows import MessageTemplateRow
from persistence.repositories import register


def template_of(row: MessageTemplateRow) -> MessageTemplate:
    channel = TemplateChannel(row.channel)
    data = row.fields
    return MessageTemplate(
        id=row.id,
        name=row.name,
        channel=channel,
        subject=row.subject,
        body=row.body,
        html_body=row.html_body,
        provider_template_id=row.provider_template_id,
        page=row.page,
        fields=dict(data) if isinstance(data, dict) else {},
        parameters=tuple(data) if isinstance(data, list) else (),
        archived_at=row.archived_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _values(template: MessageTemplate) -> dict[str, Any]:
    data: Any = (
        list(template.parameters)
        if template.channel is TemplateChannel.SMS
        else dict(template.fields)
    )
    return {
        "name": template.name,
        "channel": template.channel.value,
        "subject": template.subject,
        "body": template.body,
        "html_body": template.html_body,
        "provider_template_id": template.provider_template_id,
        "page": template.page,
        "fields": data,
        "archived_at": template.archived_at,
        "updated_at": template.updated_at,
    }


class SqlTemplateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, template: MessageTemplate) -> MessageTemplate:
        row = MessageTemplateRow(**_values(template), created_at=template.created_at)
        self.session.add(row)
        await self.session.flush()
        return template_of(row)

    async def get(self, template_id: int, *, for_update: bool = False) -> MessageTemplate | None:
        statement = select(MessageTemplateRow).where(MessageTemplateRow.id == template_id)
        if for_update:
            statement = statement.with_for_update()
        row = (await self.session.execute(statement)).scalar_one_or_none()
        return template_of(row) if row else None

    async def save(self, template: MessageTemplate) -> None:
        await self.session.execute(
            update(MessageTemplateRow)
            .where(MessageTemplateRow.id == template.id)
            .values(**_values(template))
        )

    async def many(self, template_ids: Sequence[int]) -> dict[int, MessageTemplate]:
        if not template_ids:
            return {}
        rows = await self.session.execute(
            select(MessageTemplateRow).where(MessageTemplateRow.id.in_(list(set(template_ids))))
        )
        return {r.id: template_of(r) for r in rows.scalars()}


register(TEMPLATES, lambda tx: SqlTemplateRepository(tx.session))
