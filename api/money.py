"""Money over GraphQL: an amount with its currency, never a bare number."""

from __future__ import annotations

from decimal import Decimal

import strawberry


@strawberry.type(name="Money", description="An amount of money in an ISO 4217 currency.")
class MoneyType:
    amount: Decimal
    currency: str
