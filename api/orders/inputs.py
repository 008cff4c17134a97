"""Order inputs."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from api.customers.inputs import CustomerRefInput


@strawberry.input
class OrderItemInput:
    sku: str
    quantity: int = 1
    unit_price: Decimal = Decimal(0)
    name: str | None = None
    category: str | None = None


@strawberry.input
class OrderRecordInput:
    external_id: str = strawberry.field(
        description="The order's id in your system; the idempotency key of this mutation."
    )
    customer: CustomerRefInput
    amount: Decimal
    currency: str
    placed_at: datetime = strawberry.field(description="May be in the past (history import).")
    channel: str | None = None
    items: list[OrderItemInput] = strawberry.field(default_factory=list)
    award_points: bool = strawberry.field(
        default=True,
        description="False: the order only feeds statistics and metrics.",
    )


@strawberry.input
class OrderRefundInput:
    order_external_id: str
    amount: Decimal
    idempotency_key: str
