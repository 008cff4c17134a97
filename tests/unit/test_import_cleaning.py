"""Cleaning imported cells (domain/import_cleaning.py): each kind of value, what it
becomes, whether that counts as a change, and the cells that are refused."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from domain.customers import Gender
from domain.import_cleaning import (
    DATE_READ,
    EXCEL_SERIAL,
    RowRefused,
    clean_amount,
    clean_date,
    clean_datetime,
    clean_email,
    clean_gender,
    clean_phone,
    clean_text,
    header_key,
    map_columns,
)
from tests.conftest import utc

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("cell", "expected", "changed"),
    [
        ("13812345678", "+8613812345678", True),
        ("138 1234 5678", "+8613812345678", True),
        ("+86 138-1234-5678", "+8613812345678", True),
        ("１３８１２３４５６７８", "+8613812345678", True),  # full-width digits
        (13812345678.0, "+8613812345678", True),  # an Excel number cell
        ("+8613812345678", "+8613812345678", False),
        ("+1 415 555 2671", "+14155552671", True),
        (None, None, False),
        ("  ", None, False),
    ],
)
def test_phones_become_e164_in_the_default_region(cell, expected, changed):
    assert clean_phone(cell, "CN") == (expected, changed)


@pytest.mark.parametrize("cell", ["notaphone", "12", "138-1234-567x"])
def test_a_cell_that_is_no_phone_number_is_refused(cell):
    with pytest.raises(RowRefused) as refused:
        clean_phone(cell, "CN")
    assert refused.value.reason == "phone: not a phone number"
    assert cell in refused.value.message


def test_emails_are_trimmed_and_lower_cased_or_refused():
    assert clean_email(" Ann@Example.COM ") == ("ann@example.com", True)
    assert clean_email("ann@example.com") == ("ann@example.com", False)
    assert clean_email("") == (None, False)
    with pytest.raises(RowRefused, match="not valid") as refused:
        clean_email("ann@@example")
    assert refused.value.reason == "email: not an e-mail address"


def test_text_is_trimmed_and_inner_blanks_made_one():
    assert clean_text("  Ann   Lee ", "name", max_length=200) == ("Ann Lee", True)
    assert clean_text("Ann Lee", "name", max_length=200) == ("Ann Lee", False)
    assert clean_text(None, "name", max_length=200) == (None, False)
    with pytest.raises(RowRefused) as refused:
        clean_text("x" * 201, "name", max_length=200)
    assert refused.value.reason == "name: too long"


@pytest.mark.parametrize(
    ("cell", "expected", "change"),
    [
        ("2024-03-05", utc(2024, 3, 4, 16), None),  # midnight in Shanghai
        ("2024-03-05T14:30:00+00:00", utc(2024, 3, 5, 14, 30), None),
        ("2024-03-05 14:30", utc(2024, 3, 5, 6, 30), None),
        ("2024/3/5", utc(2024, 3, 4, 16), DATE_READ),
        ("2024/3/5 14:30", utc(2024, 3, 5, 6, 30), DATE_READ),
        ("2024/03/05 14:30:15", utc(2024, 3, 5, 6, 30, 15), DATE_READ),
        ("2024.3.5", utc(2024, 3, 4, 16), DATE_READ),
        ("2024年3月5日", utc(2024, 3, 4, 16), DATE_READ),
        ("2024年3月5日 14:30", utc(2024, 3, 5, 6, 30), DATE_READ),
        ("2024年3月5日 14时30分", utc(2024, 3, 5, 6, 30), DATE_READ),
        ("２０２４年３月５日", utc(2024, 3, 4, 16), DATE_READ),
        (45356, utc(2024, 3, 4, 16), EXCEL_SERIAL),  # Excel's serial for 2024-03-05
        (45356.5, utc(2024, 3, 5, 4), EXCEL_SERIAL),  # noon
        ("45356.5", utc(2024, 3, 5, 4), EXCEL_SERIAL),
        (datetime(2024, 3, 5, 12), utc(2024, 3, 5, 4), None),  # an XLSX date cell
        (date(2024, 3, 5), utc(2024, 3, 4, 16), None),
    ],
)
def test_dates_in_the_common_formats_are_read_in_the_programs_zone(cell, expected, change):
    assert clean_datetime(cell, SHANGHAI) == (expected, change)


@pytest.mark.parametrize("cell", ["2024-02-30", "yesterday", "3/5/2024", "12", "", None])
def test_a_cell_that_is_no_date_is_refused(cell):
    with pytest.raises(RowRefused) as refused:
        clean_datetime(cell, SHANGHAI)
    assert refused.value.reason in ("placed_at: not a date", "placed_at: missing")


def test_a_birthday_is_a_calendar_date():
    assert clean_date("1990年3月5日", SHANGHAI) == (date(1990, 3, 5), DATE_READ)
    assert clean_date("1990-03-05", SHANGHAI) == (date(1990, 3, 5), None)
    assert clean_date(None, SHANGHAI) == (None, None)


@pytest.mark.parametrize(
    ("cell", "expected", "changed"),
    [
        ("1299.00", Decimal("1299.00"), False),
        ("¥1,299.00", Decimal("1299.00"), True),
        ("￥１，２９９．５", Decimal("1299.5"), True),  # full-width
        ("1299元", Decimal("1299"), True),
        ("RMB 1,299", Decimal("1299"), True),
        (1299.5, Decimal("1299.5"), False),
        (1299, Decimal("1299"), False),
    ],
)
def test_amounts_lose_currency_signs_and_separators(cell, expected, changed):
    assert clean_amount(cell) == (expected, changed)


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("", "amount: missing"),
        ("abc", "amount: not an amount"),
        ("12.345", "amount: more than 2 decimals"),
        ("NaN", "amount: not an amount"),
    ],
)
def test_amounts_that_cannot_be_cleaned_are_refused(cell, reason):
    with pytest.raises(RowRefused) as refused:
        clean_amount(cell)
    assert refused.value.reason == reason


def test_gender_words():
    assert clean_gender("男") == (Gender.MALE, True)
    assert clean_gender("F") == (Gender.FEMALE, True)
    assert clean_gender("FEMALE") == (Gender.FEMALE, False)
    with pytest.raises(RowRefused):
        clean_gender("?")


def test_headers_are_matched_by_alias_whatever_their_case_blanks_or_bom():
    assert header_key("\ufeffExternal_Id ") == "externalid"
    assert map_columns(["\ufeff外部ID", "手机号", "Email", "姓名"], "customers") == {
        "external_id": 0,
        "phone": 1,
        "email": 2,
        "name": 3,
    }
    assert map_columns(["订单号", "会员ID", "金额", "下单时间", "渠道"], "orders") == {
        "external_id": 0,
        "customer_external_id": 1,
        "amount": 2,
        "placed_at": 3,
        "channel": 4,
    }


def test_a_mapping_names_columns_the_aliases_do_not_know():
    headers = ["Order No", "Member", "Paid", "Time", "Mobile No"]
    mapping = {
        "Order No": "external_id",
        "Member": "customer_external_id",
        "Paid": "amount",
        "Time": "placed_at",
    }
    assert map_columns(headers, "orders", mapping) == {
        "external_id": 0,
        "customer_external_id": 1,
        "amount": 2,
        "placed_at": 3,
    }


def test_identity_columns_have_aliases_and_a_custom_kind_is_mapped():
    headers = [
        "会员ID",
        "微信UnionID",
        "OpenID",
        "小程序AppID",
        "POS卡号",
        "天猫ID",
        "京东ID",
        "CRM No",
    ]
    assert map_columns(headers, "customers", {"CRM No": "identity:crm"}) == {
        "identity:crm": 7,
        "external_id": 0,
        "wechat_unionid": 1,
        "wechat_openid": 2,
        "wechat_app_id": 3,
        "pos_card": 4,
        "tmall_id": 5,
        "jd_id": 6,
    }
    # An orders file names its customer by any one of these columns.
    assert map_columns(["订单号", "POS卡号", "会员手机号", "金额", "下单时间"], "orders") == {
        "external_id": 0,
        "customer_pos_card": 1,
        "customer_phone": 2,
        "amount": 3,
        "placed_at": 4,
    }
    mapped = map_columns(
        ["订单号", "crm", "金额", "下单时间"], "orders", {"crm": "customer_identity:crm"}
    )
    assert mapped["customer_identity:crm"] == 1


@pytest.mark.parametrize(
    ("kind", "headers", "mapping", "message"),
    [
        (
            "orders",
            ["订单号", "金额"],
            None,
            r"no column for the customer \(one of customer_external_id, customer_wechat_unionid, "
            r".*customer_email\), placed_at",
        ),
        ("customers", ["id", "crm"], {"crm": "identity: "}, "namespace must not be empty"),
        ("customers", ["id", "crm"], {"crm": "identity:" + "k" * 65}, "longer than 64"),
        ("orders", ["id", "crm"], {"crm": "identity:crm"}, "or customer_identity:KIND"),
        ("customers", ["phone"], None, "no column for external_id"),
        ("customers", ["id", "phone"], {"id": "nickname"}, "nickname is not one of"),
        ("customers", ["phone"], {"Member": "external_id"}, "the file has no column 'Member'"),
        ("customers", ["外部ID", "会员ID"], None, "are both external_id"),
    ],
)
def test_a_layout_without_a_required_field_or_with_a_wrong_mapping_is_refused(
    kind, headers, mapping, message
):
    with pytest.raises(ValueError, match=message):
        map_columns(headers, kind, mapping)
