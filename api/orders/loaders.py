"""Orders, their items and refunds, and customers' first pages, batched per request."""

from __future__ import annotations

from api.loaders import LoaderKey, loader
from domain.earning_rules.service import KeptLine
from domain.orders import OrderItem, Refund
from persistence import earning_rules as earning_reads
from persistence import orders as reads

ORDER = loader("order", reads.orders_by_ids, missing=None)
ORDER_BY_EXTERNAL_ID = loader("order_by_external_id", reads.orders_by_external_ids, missing=None)
ORDER_ITEMS: LoaderKey[int, list[OrderItem]] = loader(
    "order_items", reads.items_of_orders, missing=[]
)
ORDER_REFUNDS: LoaderKey[int, list[Refund]] = loader(
    "order_refunds", reads.refunds_of_orders, missing=[]
)
# Keyed by (customer id, after, first): `Customer.orders` pages, and their totalCount.
ORDER_PAGES = loader("order_pages", reads.order_pages, missing=None)
ORDER_COUNTS = loader("order_counts", reads.order_counts, missing=0)
ORDER_POINTS_BREAKDOWN: LoaderKey[int, list[KeptLine]] = loader(
    "order_points_breakdown", earning_reads.breakdowns_of_orders, missing=[]
)
