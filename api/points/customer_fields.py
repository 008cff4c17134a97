"""The points fields of Customer: `points` and `ledger`."""

from __future__ import annotations

import strawberry

from api.areas import customer_fields
from api.customers.base import CustomerFields
from api.pagination import Connection, paginate_per_parent
from api.points.loaders import LEDGER_COUNTS, LEDGER_PAGES
from api.points.types import CustomerPoints, LedgerEntryType


@customer_fields(position=10)
@strawberry.type
class CustomerPointsFields(CustomerFields):
    @strawberry.field(description="Balances: available, pending, debt, lifetime, expiring.")
    def points(self) -> CustomerPoints:
        return CustomerPoints(
            available=self.stats.points_balance,
            debt=self.stats.points_debt,
            lifetime_earned=self.stats.lifetime_earned,
            customer_key=self.db_id,
        )

    @strawberry.field(description="The points ledger, newest entry first.")
    async def ledger(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> Connection[LedgerEntryType]:
        return await paginate_per_parent(
            info,
            self.db_id,
            sort="LEDGER",
            first=first,
            after=after,
            pages=LEDGER_PAGES,
            counts=LEDGER_COUNTS,
            to_node=LedgerEntryType.from_domain,
        )
