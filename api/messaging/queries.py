"""`messageTemplates`, `messageTemplate`, `messagePreview`."""

from __future__ import annotations

import strawberry

from api import ids
from api.areas import query_fields
from api.auth import requires
from api.errors import BadUserInput
from api.messaging.types import MessagePreviewType, MessageTemplateType, load_template
from api.messaging.wiring import unsubscribe_links
from api.pagination import Connection, paginate
from domain.access import Scope
from domain.errors import DomainError
from domain.messaging.template_service import TemplateService
from persistence.messaging import reads

TEMPLATES_SORT = "ID"


@query_fields(position=143)
@strawberry.type
class MessagingQuery:
    @strawberry.field(
        description="Message templates, oldest first; archived ones only when asked.",
        permission_classes=[requires(Scope.CAMPAIGNS_READ)],
    )
    async def message_templates(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        include_archived: bool = False,
    ) -> Connection[MessageTemplateType]:
        return await paginate(
            sort=TEMPLATES_SORT,
            first=first,
            after=after,
            read=lambda key, size: info.context.read(
                reads.templates_page, include_archived, key, size
            ),
            count=lambda: info.context.read(reads.count_templates, include_archived),
            to_node=MessageTemplateType.from_domain,
            cursor_types=(int,),
        )

    @strawberry.field(
        description="One message template by global ID.",
        permission_classes=[requires(Scope.CAMPAIGNS_READ)],
    )
    async def message_template(
        self, info: strawberry.Info, id: strawberry.ID
    ) -> MessageTemplateType | None:
        try:
            key = ids.decode(id, "MessageTemplate")
        except ValueError:
            return None
        return await load_template(info, key)

    @strawberry.field(
        description="The template rendered for the customer; the variables a message brings "
        "(couponCode…) are filled with sample values. Null for an unknown template or customer.",
        permission_classes=[requires(Scope.CAMPAIGNS_READ, Scope.CUSTOMERS_READ)],
    )
    async def message_preview(
        self, info: strawberry.Info, template_id: strawberry.ID, customer_id: strawberry.ID
    ) -> MessagePreviewType | None:
        try:
            template_key = ids.decode(template_id, "MessageTemplate")
            customer_key = ids.decode(customer_id, "Customer")
        except ValueError:
            return None
        service = TemplateService(info.context.uow, info.context.clock)
        try:
            rendered = await service.preview(
                template_key, customer_key, unsubscribe_links(info.context.settings)
            )
        except DomainError as exc:
            if exc.field == ("template_id",):
                raise BadUserInput(exc.message) from None
            return None
        return MessagePreviewType.from_domain(rendered)
