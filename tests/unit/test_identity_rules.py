"""The identity rules without a database: what an identity is, who may hold it, and
how a reference names its customer."""

from __future__ import annotations

import pytest

from domain.customers import CustomerRef, ProfileInput, ref_as_sent, ref_way
from domain.errors import DomainError, ErrorCode, InvalidInput
from domain.identities import Identity, IdentityInput, IdentityType, identity_of, to_add, unique


def test_values_and_namespaces_are_trimmed_and_kept_exactly_otherwise():
    checked = identity_of(
        IdentityInput(IdentityType.WECHAT_OPENID, "  oAbC-123 ", " wx1234 "), ("identity",)
    )
    assert checked == Identity(IdentityType.WECHAT_OPENID, "wx1234", "oAbC-123")
    card = identity_of(IdentityInput(IdentityType.POS_CARD, "8800", None), ("identity",))
    assert card == Identity(IdentityType.POS_CARD, "", "8800")
    # An empty namespace is no namespace.
    assert identity_of(IdentityInput(IdentityType.JD, "j", "  "), ("identity",)).namespace == ""


@pytest.mark.parametrize(
    ("given", "field", "code"),
    [
        (IdentityInput(IdentityType.WECHAT_OPENID, "o", None), "namespace", ErrorCode.REQUIRED),
        (IdentityInput(IdentityType.CUSTOM, "c", ""), "namespace", ErrorCode.REQUIRED),
        (IdentityInput(IdentityType.WECHAT_UNIONID, "u", "wx1"), "namespace", ErrorCode.INVALID),
        (IdentityInput(IdentityType.TMALL, " ", None), "value", ErrorCode.REQUIRED),
        (IdentityInput(IdentityType.TMALL, "v" * 257, None), "value", ErrorCode.TOO_LONG),
        (IdentityInput(IdentityType.CUSTOM, "c", "n" * 65), "namespace", ErrorCode.TOO_LONG),
        (IdentityInput(IdentityType.POS_CARD, "a\nb", None), "value", ErrorCode.INVALID),
    ],
)
def test_each_problem_names_its_field(given, field, code):
    with pytest.raises(InvalidInput) as refused:
        identity_of(given, ("identity",))
    assert [(e.field, e.code) for e in refused.value.errors] == [(("identity", field), code)]


def test_all_problems_of_one_identity_come_at_once():
    with pytest.raises(InvalidInput) as refused:
        identity_of(IdentityInput(IdentityType.WECHAT_OPENID, "", None), ("identity",))
    assert {e.field for e in refused.value.errors} == {
        ("identity", "value"),
        ("identity", "namespace"),
    }


def test_the_longest_value_is_accepted():
    assert identity_of(IdentityInput(IdentityType.JD, "v" * 256), ("i",)).value == "v" * 256


def test_who_may_hold_an_identity():
    card = Identity(IdentityType.POS_CARD, "", "1")
    assert to_add(card, None, 7, ("identity",)) is True
    assert to_add(card, 7, 7, ("identity",)) is False  # theirs already: nothing to do
    with pytest.raises(DomainError) as taken:
        to_add(card, 8, 7, ("identity",))
    assert (taken.value.code, taken.value.field) == (
        ErrorCode.IDENTITY_TAKEN,
        ("identity", "value"),
    )


def test_unique_keeps_the_first_of_each():
    a, b = Identity(IdentityType.JD, "", "a"), Identity(IdentityType.JD, "", "b")
    assert unique([a, b, a]) == [a, b]


def test_a_reference_names_its_customer_in_exactly_one_way():
    card = IdentityInput(IdentityType.POS_CARD, "1")
    assert ref_way(CustomerRef(id=1), ("customer",)) == "id"
    assert ref_way(CustomerRef(external_id="x", profile=ProfileInput(phone="1")), ()) == (
        "external_id"
    )
    assert ref_way(CustomerRef(identity=card), ()) == "identity"
    assert ref_way(CustomerRef(profile=ProfileInput(phone="13800138000", name="N")), ()) == (
        "phone"
    )
    assert ref_way(CustomerRef(profile=ProfileInput(email="a@b.cn")), ()) == "email"
    for ref, field, code in [
        (CustomerRef(id=1, identity=card), ("customer", "identity"), ErrorCode.INVALID),
        (CustomerRef(id=1, external_id="x"), ("customer", "external_id"), ErrorCode.INVALID),
        (
            CustomerRef(profile=ProfileInput(phone="1", email="a@b.cn")),
            ("customer", "email"),
            ErrorCode.INVALID,
        ),
        (CustomerRef(profile=ProfileInput(name="N")), ("customer",), ErrorCode.REQUIRED),
        (CustomerRef(profile=ProfileInput(phone=None)), ("customer",), ErrorCode.REQUIRED),
        (CustomerRef(), ("customer",), ErrorCode.REQUIRED),
    ]:
        with pytest.raises(DomainError) as refused:
            ref_way(ref, ("customer",))
        assert (refused.value.field, refused.value.code) == (field, code), ref


def test_a_fingerprint_by_id_or_external_id_is_the_one_from_before_identities():
    assert ref_as_sent(CustomerRef(id=3), "id") == (3, None)
    assert ref_as_sent(CustomerRef(external_id="x"), "external_id") == (None, "x")
    by_card = ref_as_sent(
        CustomerRef(identity=IdentityInput(IdentityType.POS_CARD, "1")), "identity"
    )
    other_card = ref_as_sent(
        CustomerRef(identity=IdentityInput(IdentityType.POS_CARD, "2")), "identity"
    )
    assert by_card != other_card
    assert ref_as_sent(CustomerRef(profile=ProfileInput(phone="1")), "phone") == ("phone", "1")
