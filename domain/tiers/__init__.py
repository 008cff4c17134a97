"""Tiers: which tier a customer qualifies for, when they move, and tier admin.

The rules (docs/tiers.md):

- The *qualifying value* is taken over the rolling window (now − tier_window_days, now]:
  with basis POINTS_EARNED it is Σ(points earned − points reversed) of the customer's
  orders placed in the window, with SPEND it is Σ(amount − refunded amount). An order
  refunded in full therefore contributes 0.
- The *qualifying tier* is the highest-ranked tier whose threshold ≤ the value (none
  when even the lowest threshold is out of reach).
- Upgrade at once, in the order's own transaction (`decide_upgrade`, which the order
  flow's `domain.orders.decide_order` asks for every order, and `upgrade_after_order`
  for a single customer inside a unit of work): a customer
  whose qualifying tier ranks above the one they hold moves straight to it, skipping
  tiers if the order crossed several thresholds. A tier with threshold 0 is reached on
  the first order.
- Downgrade only by the daily job (`run_downgrades`): only when the value has fallen
  below the threshold of the tier held *and* the tier has been held at least
  tier_retention_days (exactly that many days counts). The customer moves to the
  qualifying tier, or to no tier. The tier's clock (tier_since) restarts with every
  move, so the retention protects the new tier too and a second run at the same
  instant finds nothing to do.
- Changing a tier's threshold moves nobody by itself: customers move up on their next
  order and down at the next daily run.
- Ranks order tiers, and thresholds must rise with rank: otherwise a higher tier could
  be easier to reach than a lower one, and "highest rank whose threshold ≤ value"
  would skip a tier a customer plainly earned.

The package, by job: `rules` (the pure decisions), `ports` (what storage must
offer; the SQL that sums orders and finds candidates lives in persistence/tiers.py
behind `TierRepository`), `service` (the order flow's upgrade, the daily job and
`TierService`), `admin` (commands and the checks an admin's values pass).
"""

from domain.tiers.admin import (
    FIELD_CHECKS,
    MAX_BENEFITS,
    MAX_MULTIPLIER,
    MAX_RANK,
    MAX_THRESHOLD,
    MAX_TIER_NAME,
    CreateTier,
    UpdateTier,
    check_multiplier,
    check_order,
    check_rank,
    check_threshold,
    checked_fields,
)
from domain.tiers.ports import (
    TIERS,
    TierRepository,
)
from domain.tiers.rules import (
    DEFAULT_TIERS,
    DOWNGRADE_REASON,
    UPGRADE_REASON,
    Direction,
    Standing,
    Tier,
    TierChange,
    TierHistoryEntry,
    TierProgress,
    TierSpec,
    Window,
    by_rank,
    decide_downgrade,
    decide_upgrade,
    find_tier,
    plain,
    progress,
    qualifying_tier,
    qualifying_window,
    retention_over,
    tier_key,
)
from domain.tiers.service import (
    DOWNGRADE_BATCH,
    TierService,
    earn_multiplier,
    run_downgrades,
    tier_event,
    upgrade_after_order,
)

__all__ = [
    "CreateTier",
    "DEFAULT_TIERS",
    "DOWNGRADE_BATCH",
    "DOWNGRADE_REASON",
    "Direction",
    "FIELD_CHECKS",
    "MAX_BENEFITS",
    "MAX_MULTIPLIER",
    "MAX_RANK",
    "MAX_THRESHOLD",
    "MAX_TIER_NAME",
    "Standing",
    "Tier",
    "TierChange",
    "TierHistoryEntry",
    "TierProgress",
    "TierRepository",
    "TierService",
    "TierSpec",
    "TIERS",
    "UPGRADE_REASON",
    "UpdateTier",
    "Window",
    "by_rank",
    "check_multiplier",
    "check_order",
    "check_rank",
    "check_threshold",
    "checked_fields",
    "decide_downgrade",
    "decide_upgrade",
    "earn_multiplier",
    "find_tier",
    "plain",
    "progress",
    "qualifying_tier",
    "qualifying_window",
    "retention_over",
    "run_downgrades",
    "tier_event",
    "tier_key",
    "upgrade_after_order",
]
