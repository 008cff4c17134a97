"""`campaigns`, `campaign`, `campaignVariantFor`."""

from __future__ import annotations

import strawberry

from api import ids
from api.areas import query_fields
from api.auth import requires
from api.campaigns.loaders import CAMPAIGN, MEMBER
from api.campaigns.types import AudienceMemberType, CampaignType, load_campaign
from api.pagination import Connection, paginate
from domain.access import Scope
from persistence import campaigns as reads

CAMPAIGNS_SORT = "NEWEST"


@query_fields(position=137)
@strawberry.type
class CampaignQuery:
    @strawberry.field(
        description="Campaigns, newest first; archived ones only when asked.",
        permission_classes=[requires(Scope.CAMPAIGNS_READ)],
    )
    async def campaigns(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        include_archived: bool = False,
    ) -> Connection[CampaignType]:
        criteria = reads.CampaignFilter(include_archived=include_archived)
        return await paginate(
            sort=CAMPAIGNS_SORT,
            first=first,
            after=after,
            read=lambda key, size: info.context.read(reads.list_campaigns, criteria, key, size),
            count=lambda: info.context.read(reads.count_campaigns, criteria),
            to_node=CampaignType.from_domain,
            cursor_types=(int,),
        )

    @strawberry.field(
        description="One campaign by global ID.",
        permission_classes=[requires(Scope.CAMPAIGNS_READ)],
    )
    async def campaign(self, info: strawberry.Info, id: strawberry.ID) -> CampaignType | None:
        try:
            key = ids.decode(id, "Campaign")
        except ValueError:
            return None
        return await load_campaign(info, key)

    @strawberry.field(
        description="The arm of one customer: from the frozen audience once the campaign "
        "started (inAudience), else the arm the deterministic assignment gives them. Null "
        "for an unknown campaign or customer ID.",
        permission_classes=[requires(Scope.CAMPAIGNS_READ)],
    )
    async def campaign_variant_for(
        self, info: strawberry.Info, campaign_id: strawberry.ID, customer_id: strawberry.ID
    ) -> AudienceMemberType | None:
        try:
            campaign_key = ids.decode(campaign_id, "Campaign")
            customer_key = ids.decode(customer_id, "Customer")
        except ValueError:
            return None
        campaign = await info.context.loader(CAMPAIGN).load(campaign_key)
        if campaign is None:
            return None
        arm = await info.context.loader(MEMBER).load((campaign_key, customer_key))
        if arm is not None:
            return AudienceMemberType.of(customer_key, arm, True)
        return AudienceMemberType.of(customer_key, campaign.arm_of(customer_key), False)
