"""What a tier move writes, field by field: the event of an upgrade and of a downgrade
(ids, names, reason, basis, qualifying value), and that an order which changes
nothing writes nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from domain.program import ProgramSettings, TierBasis
from tests.service.test_tiers import (
    NOW,
    daily,
    default_tiers,
    events,
    new_customer,
    order,
    tier_of,
)


async def test_upgrade_and_downgrade_events_carry_every_field(database):
    tiers = await default_tiers(database)
    customer = await new_customer(database)
    await order(database, customer, NOW, points=1200)
    assert await order(database, customer, NOW + timedelta(minutes=1), points=5) is None

    later = NOW + timedelta(days=400)  # the order left the window; retention is over
    assert await daily(database, later) == 1
    assert await tier_of(database, customer) == ("Bronze", later)

    found = await events(database, customer)
    assert found == [
        (
            "tier.upgraded",
            {
                "schemaVersion": 1,
                "customerId": customer,
                "fromTierId": None,
                "fromTier": None,
                "toTierId": tiers["Silver"],
                "toTier": "Silver",
                "reason": "order",
                "basis": "POINTS_EARNED",
                "qualifyingValue": "1200",
            },
        ),
        (
            "tier.downgraded",
            {
                "schemaVersion": 1,
                "customerId": customer,
                "fromTierId": tiers["Silver"],
                "fromTier": "Silver",
                "toTierId": tiers["Bronze"],
                "toTier": "Bronze",
                "reason": "daily review: qualifying value below threshold after retention",
                "basis": "POINTS_EARNED",
                "qualifyingValue": "0",
            },
        ),
    ]


async def test_the_basis_named_in_the_event_is_the_programs(database):
    await default_tiers(database)
    customer = await new_customer(database)
    spend = ProgramSettings(tier_basis=TierBasis.SPEND)
    change = await order(database, customer, NOW, program=spend, amount="1500.00")
    assert change.to_tier.name == "Silver"
    ((_, payload),) = await events(database, customer)
    assert payload["basis"] == "SPEND" and payload["qualifyingValue"] == "1500"


async def test_the_daily_job_judges_by_the_programs_basis(database):
    """Spend keeps the tier although no points were earned: the job must sum spend,
    both when it picks the candidates and when it re-checks them."""
    await default_tiers(database)
    customer = await new_customer(database)
    spend = ProgramSettings(tier_basis=TierBasis.SPEND, tier_retention_days=30)
    change = await order(database, customer, NOW, program=spend, amount="1500.00", points=0)
    assert change.to_tier.name == "Silver"

    later = NOW + timedelta(days=60)  # retention over, the order still in the window
    assert await daily(database, later, program=spend) == 0
    assert (await tier_of(database, customer))[0] == "Silver"
    points = ProgramSettings(tier_retention_days=30)
    assert await daily(database, later, program=points) == 1
    assert (await tier_of(database, customer))[0] == "Bronze"


async def test_a_downgrade_to_no_tier_names_none(database):
    from domain.clock import FixedClock
    from domain.tiers import CreateTier
    from tests.service import wiring

    only = await wiring.tiers(database, FixedClock(NOW)).create(
        CreateTier("Only", 1, Decimal(100), Decimal(1))
    )
    customer = await new_customer(database)
    await order(database, customer, NOW, points=150)
    later = NOW + timedelta(days=400)
    assert await daily(database, later) == 1
    assert await tier_of(database, customer) == (None, None)  # no tier, held since never
    _, (kind, payload) = await events(database, customer)
    assert kind == "tier.downgraded"
    assert (payload["fromTierId"], payload["toTierId"], payload["toTier"]) == (only.id, None, None)
