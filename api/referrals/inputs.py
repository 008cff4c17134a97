"""Referral inputs."""

from __future__ import annotations

import strawberry

from api.customers.inputs import CustomerRefInput
from api.referrals.types import ReferralStatus


@strawberry.input
class ReferralRecordInput:
    code: str = strawberry.field(description="The referrer's code; case, spaces, dashes ignored.")
    referee: CustomerRefInput
    idempotency_key: str


@strawberry.input
class ReferralFilter:
    status: ReferralStatus | None = None  # type: ignore[valid-type]
