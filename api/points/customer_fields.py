"""The points fields of Customer: `points` and `ledger`."""

from __future__ import annotations

import strawberry

from api.areas import customer_fields
from api.customers.base import CustomerFields
from api.pagination import Connection, paginate
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
        return await paginate(
            sort="LEDGER",
            first=first,
            after=after,
            read=lambda key, size: info.context.loader(LEDGER_PAGES).load((self.db_id, key, size)),
            count=lambda: info.context.loader(LEDGER_COUNTS).load(self.db_id),
            to_node=LedgerEntryType.from_domain,
        )
