"""Profile and tag rules in plain Python: normalization, attribute limits, erasure."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from domain.customers import (
    UNSET,
    Customer,
    ProfileInput,
    apply_profile,
    erased_copy,
    normalize_email,
    normalize_phone,
)
from domain.errors import DomainError, ErrorCode, InvalidInput
from domain.tags import check_color, tag_key

FIELD = ("x",)
TODAY = date(2024, 6, 1)


@pytest.mark.parametrize(
    ("typed", "region", "stored"),
    [
        ("13800138000", "CN", "+8613800138000"),
        ("138-0013-8000", "CN", "+8613800138000"),
        ("+86 138 0013 8000", None, "+8613800138000"),
        ("(020) 7946 0958", "GB", "+442079460958"),
        ("13800138000", None, "13800138000"),  # no region, no country code: digits kept
    ],
)
def test_phone_normalization(typed, region, stored):
    assert normalize_phone(typed, FIELD, region=region) == stored


@pytest.mark.parametrize("typed", ["1234", "abc12345", "138 0013 8000 ext 5"])
def test_not_a_phone_number(typed):
    with pytest.raises(DomainError) as caught:
        normalize_phone(typed, FIELD, region="CN")
    assert caught.value.code is ErrorCode.INVALID


def test_email_is_lower_cased_whole():
    assert normalize_email(" Li.Na@Example.COM ", FIELD) == "li.na@example.com"


def test_unset_leaves_a_field_none_clears_it():
    customer = Customer(1, "e", email="a@b.cn", city="Shanghai", attributes={"a": 1})
    changed = apply_profile(
        customer,
        ProfileInput(email=UNSET, city=None, attributes=None),
        today=TODAY,
        phone_region="CN",
    )
    assert (changed.email, changed.city, changed.attributes) == ("a@b.cn", None, {})
    blank = apply_profile(customer, ProfileInput(city="   "), today=TODAY, phone_region="CN")
    assert blank.city is None  # a blank optional string means "no value"


def test_birthday_limits():
    for birthday in (TODAY + timedelta(days=1), date(1899, 12, 31)):
        with pytest.raises(InvalidInput) as caught:
            apply_profile(
                Customer(1, "e"), ProfileInput(birthday=birthday), today=TODAY, phone_region=None
            )
        assert caught.value.errors[0].field == ("birthday",)
    ok = apply_profile(
        Customer(1, "e"), ProfileInput(birthday=TODAY), today=TODAY, phone_region=None
    )
    assert ok.birthday == TODAY


def test_attribute_values_are_flat_scalars():
    with pytest.raises(InvalidInput) as caught:
        apply_profile(
            Customer(1, "e"),
            ProfileInput(attributes={"ok": 1, "nan": float("nan"), "none": None}),
            today=TODAY,
            phone_region=None,
        )
    assert caught.value.errors[0].field == ("attributes", "nan")


def test_erasure_keeps_only_what_is_not_personal():
    at = datetime(2024, 6, 1, tzinfo=UTC)
    customer = Customer(
        7,
        "shop-7",
        "a@b.cn",
        "+8613800138000",
        "Li",
        date(1990, 1, 1),
        None,
        "SH",
        "wechat",
        {"size": "M"},
        at,
        at,
    )
    erased = erased_copy(customer, at)
    assert erased.external_id == "erased:7"
    assert (erased.email, erased.phone, erased.name, erased.birthday, erased.city) == (None,) * 5
    assert erased.attributes == {}
    assert erased.acquisition_channel == "wechat"
    assert erased.erased_at == at


def test_tag_keys_and_colors():
    assert tag_key("  VIP ") == tag_key("vip")
    assert check_color("#c9a227", FIELD) == "#C9A227"
    assert check_color(None, FIELD) is None
    with pytest.raises(DomainError):
        check_color("#c9a22", FIELD)
