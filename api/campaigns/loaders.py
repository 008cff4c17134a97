"""Campaigns by id, audience pages and counts, funnels, order attributions, batched
per request."""

from __future__ import annotations

from api.loaders import loader
from persistence import campaigns as reads
from persistence import segments as segment_reads

CAMPAIGN = loader("campaign", reads.campaigns_by_ids, missing=None)
# Keyed by (campaign id, after, first): `Campaign.audience` pages, and their totalCount.
AUDIENCE_PAGES = loader("campaign_audience_pages", reads.audience_pages, missing=None)
AUDIENCE_COUNTS = loader("campaign_audience_counts", reads.audience_counts, missing=0)
# Keyed by (campaign id, customer id): the frozen arm, when in the audience.
MEMBER = loader("campaign_member", reads.members, missing=None)
# Keyed by campaign id: the per-arm counts behind `funnel` and `abTest`.
FUNNEL = loader("campaign_funnel", reads.funnel_counts, missing=None)
# Keyed by order id: (campaign id, arm).
ATTRIBUTION = loader("order_attribution", reads.attributions_of_orders, missing=None)
SEGMENT = loader("campaign_segment", segment_reads.segments_by_ids, missing=None)
