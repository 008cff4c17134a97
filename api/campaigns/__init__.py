"""Campaigns: upkeep and start, the frozen audience, touchpoints, funnel and A/B test.

Who may do what:
- `campaigns`, `campaign`, `campaignVariantFor`, `Campaign.audience` / `funnel` /
  `abTest`: campaigns:read (ADMIN, ANALYST, PARTNER — a sending system pages through
  the audience);
- `campaignCreate`/`Update`/`Archive`/`Start`: API keys with campaigns:write (ADMIN);
- `touchpointsRecord`: touchpoints:write (ADMIN, PARTNER);
- `Order.attribution`: whoever reads the order.
"""
