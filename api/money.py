"""`Money { amount, currency }`: every amount the API shows, in the program currency."""

from __future__ import annotations

from decimal import Decimal

import strawberry


@strawberry.type(description="An exact decimal amount with its ISO 4217 currency.")
class Money:
    amount: Decimal
    currency: str
