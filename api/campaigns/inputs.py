"""Campaign and touchpoint inputs."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import strawberry

from api.campaigns.types import Channel, TouchpointEvent
from api.customers.inputs import CustomerRefInput, customer_ref_of
from api.errors import decode_input_id
from domain import campaigns as domain


@strawberry.input(name="CampaignVariantInput")
class VariantInput:
    name: str = strawberry.field(description="Unique in the campaign; not HOLDOUT.")
    weight: int = strawberry.field(default=1, description="1 to 10,000.")
    message_template: str | None = None
    coupon_template_id: strawberry.ID | None = strawberry.field(
        default=None, description="A coupon template the message carries."
    )


@strawberry.input
class CampaignCreateInput:
    name: str
    channel: Channel  # type: ignore[valid-type]
    segment_id: strawberry.ID = strawberry.field(description="A saved segment.")
    variants: list[VariantInput] = strawberry.field(
        description="One = a plain campaign; two or more = an A/B test (the first is the baseline)."
    )
    starts_at: datetime
    holdout_share: Decimal = strawberry.field(
        default=Decimal(0), description="0 ≤ share < 1, at most 4 decimals."
    )
    attribution_days: int = 7
    ends_at: datetime | None = None


@strawberry.input(
    description="Omitted fields stay; a started campaign changes name and endsAt only."
)
class CampaignUpdateInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    channel: Channel | None = strawberry.UNSET  # type: ignore[valid-type]
    segment_id: strawberry.ID | None = strawberry.UNSET
    variants: list[VariantInput] | None = strawberry.UNSET
    holdout_share: Decimal | None = strawberry.UNSET
    attribution_days: int | None = strawberry.UNSET
    starts_at: datetime | None = strawberry.UNSET
    ends_at: datetime | None = strawberry.field(
        default=strawberry.UNSET, description="null clears it."
    )


@strawberry.input
class CampaignIdInput:
    id: strawberry.ID


@strawberry.input
class TouchpointInput:
    campaign_id: strawberry.ID
    customer: CustomerRefInput = strawberry.field(
        description="By id or externalId; a touchpoint never creates a customer."
    )
    variant: str = strawberry.field(description="The variant's name that was sent.")
    event: TouchpointEvent  # type: ignore[valid-type]
    at: datetime
    idempotency_key: str


def _given(value: Any) -> Any:
    return None if value is strawberry.UNSET else value


def campaign_fields(data: CampaignCreateInput | CampaignUpdateInput) -> domain.CampaignFields:
    segment = _given(data.segment_id)
    variants = _given(data.variants)
    return domain.CampaignFields(
        name=_given(data.name),
        channel=_given(data.channel),
        segment_id=(
            decode_input_id(segment, "Segment", ("input", "segmentId")) if segment else None
        ),
        variants=(
            [
                domain.VariantInput(
                    v.name,
                    v.weight,
                    v.message_template,
                    decode_input_id(
                        v.coupon_template_id,
                        "CouponTemplate",
                        ("input", "variants", str(i), "couponTemplateId"),
                    )
                    if v.coupon_template_id
                    else None,
                )
                for i, v in enumerate(variants)
            ]
            if variants is not None
            else None
        ),
        holdout_share=_given(data.holdout_share),
        attribution_days=_given(data.attribution_days),
        starts_at=_given(data.starts_at),
        ends_at=_given(data.ends_at),
        clear_ends_at=isinstance(data, CampaignUpdateInput) and data.ends_at is None,
    )


def touchpoint_command(data: TouchpointInput) -> domain.RecordTouchpoint:
    """Paths of refusals are relative to the item (the mutation puts them under inputs.N)."""
    return domain.RecordTouchpoint(
        campaign_id=decode_input_id(data.campaign_id, "Campaign", ("campaign_id",)),
        customer=customer_ref_of(data.customer, ("customer",)),
        variant=data.variant,
        event=domain.TouchpointEvent(data.event),
        at=data.at,
        idempotency_key=data.idempotency_key,
    )
