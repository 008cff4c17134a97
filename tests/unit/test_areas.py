"""Area packages register their root fields and Customer fields themselves."""

from __future__ import annotations

import pytest
import strawberry

from api import areas
from api.schema import schema


def test_every_area_package_is_found_and_contributes():
    names = areas.area_names()
    assert {"customers", "tiers", "rewards", "api_keys"} <= set(names)
    contributed = {
        cls.__module__.split(".")[1]
        for kind in (areas.QUERIES, areas.MUTATIONS, areas.CUSTOMER_FIELDS)
        for cls in areas.contributions(kind)
    }
    assert contributed == set(names)


def test_customer_is_assembled_from_the_areas_fields_in_position_order():
    customer = schema.get_type_by_name("Customer")
    assert customer is not None
    names = [f.python_name for f in customer.fields]  # type: ignore[union-attr]
    # Its own fields first, then points (10), referrals (20), … tiers (90).
    assert names.index("last_order_at") < names.index("points") < names.index("referral_code")
    assert names.index("feedback") < names.index("lifecycle_stage") < names.index("tier")


def test_two_contributions_cannot_share_a_position():
    taken = areas.contributions(areas.QUERIES)[-1]
    position = next(c.position for c in areas._CONTRIBUTIONS[areas.QUERIES] if c.cls is taken)

    @strawberry.type
    class Intruder:
        field: int

    with pytest.raises(ValueError, match="share position"):
        areas.query_fields(position)(Intruder)
