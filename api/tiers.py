"""Tiers over GraphQL: the Tier type, `tiers`, tier administration, and the tier
fields of Customer (`tier`, `tierProgress`, `tierHistory`), all through loaders."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from api import ids
from api.auth import require
from api.customers import unset_to_domain
from api.errors import BadUserInput, UserError, decode_input_id, user_errors
from api.node import Node, register
from domain import tiers as domain
from domain.access import Scope
from domain.errors import DomainError, InvalidInput
from persistence import tiers as reads

MAX_HISTORY = 100


@strawberry.type(
    name="Tier",
    description="A level of the loyalty program. A customer qualifies for the highest-ranked "
    "tier whose threshold their qualifying value reaches (program setting tierBasis, over "
    "tierWindowDays).",
)
class TierType(Node):
    id: strawberry.ID
    name: str
    rank: int = strawberry.field(description="Higher ranks are better tiers; unique.")
    threshold: Decimal = strawberry.field(
        description="The qualifying value (points or spend, per tierBasis) that reaches it."
    )
    earn_multiplier: Decimal = strawberry.field(
        description="Points of an order are multiplied by this while the tier is held."
    )
    benefits: str | None = strawberry.field(description="What the tier offers, for people.")
    created_at: datetime
    db_id: strawberry.Private[int]

    @classmethod
    def from_domain(cls, tier: domain.Tier) -> TierType:
        return cls(
            id=strawberry.ID(ids.encode("Tier", tier.id)),
            name=tier.name,
            rank=tier.rank,
            threshold=tier.threshold,
            earn_multiplier=tier.earn_multiplier,
            benefits=tier.benefits,
            created_at=tier.created_at,
            db_id=tier.id,
        )

    @strawberry.field(description="How many customers hold this tier now (erased ones included).")
    async def customer_count(self, info: strawberry.Info) -> int:
        return await info.context.loaders.tier_customer_count.load(self.db_id)


def tier_or_none(tier: domain.Tier | None) -> TierType | None:
    return TierType.from_domain(tier) if tier is not None else None


@register("Tier", Scope.PROGRAM_READ)
async def fetch_tier(info: strawberry.Info, key: int) -> TierType | None:
    return tier_or_none(await info.context.loaders.tier.load(key))


@strawberry.type(name="TierProgress", description="Where a customer stands in the tier ladder.")
class TierProgressType:
    current: TierType | None = strawberry.field(description="The tier held now.")
    next: TierType | None = strawberry.field(
        description="The tier ranked just above the one held; null at the top."
    )
    qualifying_value: Decimal = strawberry.field(
        description="Net points earned (or net spend) over the tier window, as of now."
    )
    remaining_to_next: Decimal | None = strawberry.field(
        description="How much more qualifying value reaches `next` (0 if reached: the "
        "move happens on the next order); null when there is no next tier."
    )

    @classmethod
    def from_domain(cls, found: domain.TierProgress) -> TierProgressType:
        return cls(
            current=tier_or_none(found.current),
            next=tier_or_none(found.next),
            qualifying_value=found.qualifying_value,
            remaining_to_next=found.remaining_to_next,
        )


@strawberry.type(name="TierChange", description="One move in a customer's tier history.")
class TierChangeType:
    reason: str = strawberry.field(
        description='Why: "order" for a move up, the daily review\'s reason for a move down.'
    )
    at: datetime
    from_tier_id: strawberry.Private[int | None]
    to_tier_id: strawberry.Private[int | None]

    @strawberry.field(name="from", description="The tier left; null when none was held.")
    async def from_(self, info: strawberry.Info) -> TierType | None:
        if self.from_tier_id is None:
            return None
        return tier_or_none(await info.context.loaders.tier.load(self.from_tier_id))

    @strawberry.field(description="The tier reached; null when the customer now holds none.")
    async def to(self, info: strawberry.Info) -> TierType | None:
        if self.to_tier_id is None:
            return None
        return tier_or_none(await info.context.loaders.tier.load(self.to_tier_id))

    @classmethod
    def from_domain(cls, entry: domain.TierHistoryEntry) -> TierChangeType:
        return cls(
            reason=entry.reason,
            at=entry.at,
            from_tier_id=entry.from_tier_id,
            to_tier_id=entry.to_tier_id,
        )


# ---- the Customer fields (api/customers.py delegates to these) --------------------------


async def customer_tier(info: strawberry.Info, customer_id: int) -> TierType | None:
    return tier_or_none(await info.context.loaders.tier_of_customer.load(customer_id))


async def customer_tier_progress(info: strawberry.Info, customer_id: int) -> TierProgressType:
    found = await info.context.loaders.tier_progress.load(customer_id)
    if found is None:  # the customer row vanished between the page and this batch
        return TierProgressType.from_domain(domain.TierProgress(None, None, Decimal(0), None))
    return TierProgressType.from_domain(found)


async def customer_tier_history(
    info: strawberry.Info, customer_id: int, first: int
) -> list[TierChangeType]:
    if not 0 <= first <= MAX_HISTORY:
        raise BadUserInput(f"first must be between 0 and {MAX_HISTORY}.")
    entries = await info.context.loaders.tier_history.load((customer_id, first))
    return [TierChangeType.from_domain(e) for e in entries]


# ---- administration -----------------------------------------------------------------------


@strawberry.input
class TierCreateInput:
    name: str
    rank: int
    threshold: Decimal
    earn_multiplier: Decimal = strawberry.field(description="Above 0, at most 10.")
    benefits: str | None = None


@strawberry.input(description="An omitted field is left as it is.")
class TierUpdateInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    rank: int | None = strawberry.UNSET
    threshold: Decimal | None = strawberry.UNSET
    earn_multiplier: Decimal | None = strawberry.UNSET
    benefits: str | None = strawberry.UNSET


@strawberry.input
class TierDeleteInput:
    id: strawberry.ID


@strawberry.type
class TierPayload:
    tier: TierType | None
    user_errors: list[UserError]


@strawberry.type
class TierDeletePayload:
    deleted_tier_id: strawberry.ID | None
    user_errors: list[UserError]


def tier_service(info: strawberry.Info) -> domain.TierService:
    return domain.TierService(info.context.uow, info.context.clock)


@strawberry.type
class TierQuery:
    @strawberry.field(description="Every tier of the program, lowest rank first.")
    async def tiers(self, info: strawberry.Info) -> list[TierType]:
        require(info, Scope.PROGRAM_READ)
        return [TierType.from_domain(t) for t in await info.context.read(reads.list_tiers)]


@strawberry.type
class TierMutation:
    @strawberry.mutation(
        description="Adds a tier. Customers move into it on their next order (up) or at "
        "the next daily review (down), never at once."
    )
    async def tier_create(self, info: strawberry.Info, input: TierCreateInput) -> TierPayload:
        require(info, Scope.PROGRAM_WRITE)
        command = domain.CreateTier(
            input.name, input.rank, input.threshold, input.earn_multiplier, input.benefits
        )
        try:
            tier = await tier_service(info).create(command)
        except (DomainError, InvalidInput) as exc:
            return TierPayload(tier=None, user_errors=user_errors(exc))
        return TierPayload(tier=TierType.from_domain(tier), user_errors=[])

    @strawberry.mutation(description="Changes a tier; holders keep it until the rules move them.")
    async def tier_update(self, info: strawberry.Info, input: TierUpdateInput) -> TierPayload:
        require(info, Scope.PROGRAM_WRITE)
        try:
            key = decode_input_id(input.id, "Tier", ("input", "id"))
            tier = await tier_service(info).update(
                domain.UpdateTier(
                    key,
                    name=unset_to_domain(input.name),
                    rank=unset_to_domain(input.rank),
                    threshold=unset_to_domain(input.threshold),
                    earn_multiplier=unset_to_domain(input.earn_multiplier),
                    benefits=unset_to_domain(input.benefits),
                )
            )
        except (DomainError, InvalidInput) as exc:
            return TierPayload(tier=None, user_errors=user_errors(exc))
        return TierPayload(tier=TierType.from_domain(tier), user_errors=[])

    @strawberry.mutation(
        description="Deletes a tier nobody holds (refused with IN_USE otherwise). History "
        "entries that named it keep their reason and time; their from/to becomes null."
    )
    async def tier_delete(self, info: strawberry.Info, input: TierDeleteInput) -> TierDeletePayload:
        require(info, Scope.PROGRAM_WRITE)
        try:
            key = decode_input_id(input.id, "Tier", ("input", "id"))
            await tier_service(info).delete(key)
        except (DomainError, InvalidInput) as exc:
            return TierDeletePayload(deleted_tier_id=None, user_errors=user_errors(exc))
        return TierDeletePayload(deleted_tier_id=input.id, user_errors=[])
