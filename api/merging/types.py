"""A merge's record and a duplicate candidate pair."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from api import ids
from api.customers.nodes import load_customer
from domain import merging as domain

if TYPE_CHECKING:
    from api.customers.types import CustomerType

Customer = Annotated["CustomerType", strawberry.lazy("api.customers.types")]

DuplicateReason = strawberry.enum(
    domain.DuplicateReason,
    name="DuplicateReason",
    description="Why two customers look like one person: the same WeChat id value "
    "(IDENTITY), phone number (PHONE) or e-mail address (EMAIL).",
)


@strawberry.type(name="CustomerMerge", description="What one merge moved, and when.")
class CustomerMergeType:
    survivor_id: strawberry.ID
    merged_id: strawberry.ID = strawberry.field(
        description="The merged customer; looking it up now finds the survivor."
    )
    created_at: datetime
    orders_moved: int
    lots_moved: int = strawberry.field(description="Point lots moved, spent and expired ones too.")
    points_moved: int = strawberry.field(
        description="Available points moved (TRANSFER_OUT/TRANSFER_IN entries); negative "
        "when a points debt moved."
    )
    pending_points_moved: int
    tags_added: int = strawberry.field(description="Tags the survivor did not have yet.")
    redemptions_moved: int
    referrals_moved: int = strawberry.field(description="As referee and as referrer.")
    feedback_moved: int
    coupons_moved: int
    activities_moved: int
    identities_moved: int

    @classmethod
    def from_domain(cls, record: domain.MergeRecord) -> CustomerMergeType:
        counts = record.counts
        return cls(
            survivor_id=strawberry.ID(ids.encode("Customer", record.survivor_id)),
            merged_id=strawberry.ID(ids.encode("Customer", record.merged_id)),
            created_at=record.created_at,
            orders_moved=counts.orders,
            lots_moved=counts.lots,
            points_moved=counts.points,
            pending_points_moved=counts.pending_points,
            tags_added=counts.tags,
            redemptions_moved=counts.redemptions,
            referrals_moved=counts.referrals,
            feedback_moved=counts.feedback,
            coupons_moved=counts.coupons,
            activities_moved=counts.activities,
            identities_moved=counts.identities,
        )


@strawberry.type(
    name="DuplicateCandidate",
    description="Two customers (lower id first) that share a phone, an e-mail or a WeChat id.",
)
class DuplicateCandidateType:
    reason: DuplicateReason = strawberry.field(  # type: ignore[valid-type]
        description="The strongest shared key."
    )
    reasons: list[DuplicateReason] = strawberry.field(  # type: ignore[valid-type]
        description="Every shared key."
    )
    score: int = strawberry.field(
        description="0–100: 100 × (1 − Π(1 − weight/100)) over the shared keys, with "
        "weights IDENTITY 90, PHONE 60, EMAIL 50 (docs/merging.md)."
    )
    first_id: strawberry.Private[int]
    second_id: strawberry.Private[int]

    @strawberry.field
    async def first(self, info: strawberry.Info) -> Customer:
        found = await load_customer(info, self.first_id)
        assert found is not None, "a candidate is a live customer"
        return found

    @strawberry.field
    async def second(self, info: strawberry.Info) -> Customer:
        found = await load_customer(info, self.second_id)
        assert found is not None, "a candidate is a live customer"
        return found

    @classmethod
    def from_domain(cls, pair: domain.DuplicatePair) -> DuplicateCandidateType:
        return cls(
            reason=pair.reason,
            reasons=list(pair.reasons),
            score=pair.score,
            first_id=pair.first_id,
            second_id=pair.second_id,
        )
