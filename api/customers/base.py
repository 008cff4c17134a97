"""What a contributed `Customer` field may read of its customer.

Another area adds fields to `Customer` by subclassing `CustomerFields` in its own
`customer_fields.py` and marking the class with `api.areas.customer_fields`; the
Customer type (api/customers/types.py) inherits from every such class. The area
imports nothing else of api/customers for it.
"""

from __future__ import annotations

import strawberry

from domain.customers import CustomerStats


@strawberry.type
class CustomerFields:
    db_id: strawberry.Private[int]
    stats: strawberry.Private[CustomerStats]
