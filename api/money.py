"""Money as the API shows it: an exact decimal amount with its ISO 4217 currency."""

from __future__ import annotations

from decimal import Decimal

import strawberry


@strawberry.type(description="An exact amount of money in one currency (ISO 4217).")
class Money:
    amount: Decimal
    currency: str


def money(amount: Decimal, currency: str) -> Money:
    return Money(amount=Decimal(amount).quantize(Decimal("0.01")), currency=currency)
