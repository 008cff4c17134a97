"""Subscriptions and deliveries by id, batched per request."""

from __future__ import annotations

from api.loaders import loader
from persistence import webhooks as reads

SUBSCRIPTION = loader("webhook_subscription", reads.subscriptions_by_ids, missing=None)
DELIVERY = loader("webhook_delivery", reads.deliveries_by_ids, missing=None)
