"""Cleaning imported spreadsheet cells (docs/import.md): pure functions, one per kind
of value, each returning the clean value and whether cleaning changed what was
written, or refusing the cell with a reason (`RowRefused`).

- phones to E.164 with the program's default region (`normalize_phone`, the rule
  customerUpsert applies);
- e-mails trimmed and lower-cased (and checked);
- names and other text trimmed, runs of blanks inside made one space;
- dates and times `2024-03-05`, `2024/3/5`, `2024.3.5`, `2024年3月5日`, each with an
  optional time (`14:30`, `14:30:15`, `14时30分`), ISO 8601 with an offset, and Excel
  serial day numbers (`45356`, `45356.5`), read in the program's time zone unless
  they carry an offset;
- amounts with `¥`/`￥`/`RMB`/`元`, thousands separators and full-width digits.

The counters the import summary shows are the names in `CHANGES`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from domain.customers import Gender, normalize_email, normalize_phone
from domain.errors import DomainError, InvalidInput
from domain.identities import IdentityInput, IdentityType, identity_of

# What cleaning changed, as counted in the summary.
PHONE_TO_E164 = "phone to E.164"
EMAIL_LOWERED = "email lower-cased"
TEXT_TRIMMED = "text trimmed"
DATE_READ = "date format read"
EXCEL_SERIAL = "Excel serial date read"
AMOUNT_CLEANED = "amount symbols removed"
GENDER_READ = "gender word read"
CHANGES = (
    PHONE_TO_E164,
    EMAIL_LOWERED,
    TEXT_TRIMMED,
    DATE_READ,
    EXCEL_SERIAL,
    AMOUNT_CLEANED,
    GENDER_READ,
)

# Excel's day 0 (its 1900 calendar counts a 29 February 1900 that never was, so
# serials from 61 on are days since 1899-12-30).
EXCEL_EPOCH = datetime(1899, 12, 30)
# Serial numbers of 1954-10-10 .. 2173-10-14: a bare number outside reads as no date.
EXCEL_SERIALS = (20_000, 100_000)


@dataclass(frozen=True)
class RowRefused(Exception):
    """A cell that cannot be cleaned: `reason` is what the summary counts rows by
    (e.g. "phone: not a phone number"), `message` what the error file says."""

    field: str
    reason: str
    message: str

    def __str__(self) -> str:
        return self.message


def refused(field: str, reason: str, message: str | None = None) -> RowRefused:
    return RowRefused(field, f"{field}: {reason}", message or f"{field}: {reason}")


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def clean_text(value: Any, field: str, *, max_length: int) -> tuple[str | None, bool]:
    """Trimmed, inner runs of blanks made one space; None for an empty cell."""
    if blank(value):
        return None, False
    raw = str(value)
    text = " ".join(raw.split())
    if len(text) > max_length:
        raise refused(field, "too long", f"{field} is longer than {max_length} characters.")
    return text, text != raw


def clean_phone(value: Any, region: str | None) -> tuple[str | None, bool]:
    """E.164 (`+8613812345678`) when the number parses in `region` (or carries its
    country code); refused when it is not a phone number at all."""
    if blank(value):
        return None, False
    raw = _number_text(value)
    text = unicodedata.normalize("NFKC", raw)
    try:
        phone = normalize_phone(text, ("phone",), region=region)
    except DomainError as exc:
        raise refused("phone", "not a phone number", f"phone {raw!r}: {exc.message}") from None
    return phone, phone != raw


def clean_email(value: Any) -> tuple[str | None, bool]:
    if blank(value):
        return None, False
    raw = str(value)
    try:
        email = normalize_email(unicodedata.normalize("NFKC", raw), ("email",))
    except DomainError:
        raise refused("email", "not an e-mail address", f"email {raw!r} is not valid.") from None
    return email, email != raw


_GENDERS = {
    "男": Gender.MALE,
    "m": Gender.MALE,
    "male": Gender.MALE,
    "女": Gender.FEMALE,
    "f": Gender.FEMALE,
    "female": Gender.FEMALE,
    "其他": Gender.OTHER,
    "other": Gender.OTHER,
    "保密": Gender.UNDISCLOSED,
    "未知": Gender.UNDISCLOSED,
    "undisclosed": Gender.UNDISCLOSED,
}


def clean_gender(value: Any) -> tuple[Gender | None, bool]:
    if blank(value):
        return None, False
    raw = str(value).strip()
    found = _GENDERS.get(raw.lower())
    if found is None:
        raise refused("gender", "unknown gender", f"gender {raw!r} is not one of 男/女/M/F.")
    return found, raw != found.value


_AMOUNT_NOISE = re.compile(r"(?i)^\s*(rmb|cny)?\s*[¥$]?\s*|\s*(元|rmb|cny)?\s*$")


def clean_amount(value: Any, field: str = "amount") -> tuple[Decimal, bool]:
    """The number in `¥1,299.00`, `￥１２９９`, `1299元`, `RMB 1299`; refused when
    none is there or it has more than 2 decimals (the order path checks the range)."""
    if blank(value):
        raise refused(field, "missing", f"{field} is empty.")
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        raw = _number_text(value)
        number = _decimal(raw, field, raw)
        return number, False
    raw = str(value)
    text = unicodedata.normalize("NFKC", raw)
    text = _AMOUNT_NOISE.sub("", text).replace(",", "").replace(" ", "")
    number = _decimal(text, field, raw)
    return number, text != raw


def _decimal(text: str, field: str, raw: str) -> Decimal:
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise refused(field, "not an amount", f"{field} {raw!r} is not an amount.") from None
    if not number.is_finite():
        raise refused(field, "not an amount", f"{field} {raw!r} is not an amount.")
    exponent = number.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise refused(field, "more than 2 decimals", f"{field} {raw!r} has more than 2 decimals.")
    return number


_DATE = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[\sT]+(\d{1,2})\s*[:时]\s*(\d{1,2})(?:\s*[:分]\s*(\d{1,2})(?:\.\d+)?)?\s*[秒分]?)?$"
)


def clean_datetime(
    value: Any, zone: ZoneInfo, field: str = "placed_at"
) -> tuple[datetime, str | None]:
    """An instant (UTC offset attached) from a cell: text in the formats above, an
    Excel serial number, or the datetime/date a spreadsheet cell holds; without an
    offset it is local time in `zone`. With it the change counted: DATE_READ for a
    format other than ISO 8601, EXCEL_SERIAL for a serial number, else None."""
    if blank(value):
        raise refused(field, "missing", f"{field} is empty.")
    if isinstance(value, datetime):
        return _zoned(value, zone), None
    if isinstance(value, date):
        return _zoned(datetime.combine(value, time()), zone), None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _serial(float(value), zone, field, str(value)), EXCEL_SERIAL
    raw = str(value)
    text = unicodedata.normalize("NFKC", raw).strip()
    try:
        return _zoned(datetime.fromisoformat(text), zone), None
    except ValueError:
        pass
    match = _DATE.match(text)
    if match is not None:
        year, month, day, hour, minute, second = (int(g) if g else 0 for g in match.groups())
        try:
            local = datetime(year, month, day, hour, minute, second)
        except ValueError:
            raise refused(field, "not a date", f"{field} {raw!r} is not a date.") from None
        return _zoned(local, zone), DATE_READ
    try:
        serial = float(text)
    except ValueError:
        raise refused(field, "not a date", f"{field} {raw!r} is not a date.") from None
    return _serial(serial, zone, field, raw), EXCEL_SERIAL


def clean_date(
    value: Any, zone: ZoneInfo, field: str = "birthday"
) -> tuple[date | None, str | None]:
    """A calendar date (a birthday): the same formats, no time zone change."""
    if blank(value):
        return None, None
    if isinstance(value, datetime):
        return value.date(), None
    if isinstance(value, date):
        return value, None
    instant, changed = clean_datetime(value, zone, field)
    return instant.astimezone(zone).date(), changed


def _serial(serial: float, zone: ZoneInfo, field: str, raw: str) -> datetime:
    if not EXCEL_SERIALS[0] <= serial < EXCEL_SERIALS[1]:
        raise refused(field, "not a date", f"{field} {raw!r} is not a date.")
    local = EXCEL_EPOCH + timedelta(days=serial)
    # Excel keeps times to the millisecond at best: round off float noise.
    local = (local + timedelta(microseconds=500)).replace(microsecond=0)
    return _zoned(local, zone)


def _zoned(value: datetime, zone: ZoneInfo) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def cell_text(value: Any) -> str:
    """A cell as text, a whole number without its `.0` (a card number or id Excel
    stored as a number)."""
    return _number_text(value)


def _number_text(value: Any) -> str:
    """A cell as text; a whole float (Excel stores 13812345678 as 13812345678.0)
    without its `.0`."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# ---- column layouts ----------------------------------------------------------------

CUSTOMER_FIELDS = (
    "external_id",
    "phone",
    "email",
    "name",
    "birthday",
    "gender",
    "city",
    "acquisition_channel",
)
ORDER_FIELDS = ("external_id", "customer_external_id", "amount", "placed_at", "currency", "channel")
REQUIRED = {
    "customers": ("external_id",),
    "orders": ("external_id", "amount", "placed_at"),
}

# Identity columns (docs/identities.md): field -> identity type. An openid's
# namespace (its WeChat app id) is the `wechat_app_id` column, or `--wechat-app`.
IDENTITY_FIELDS: dict[str, IdentityType] = {
    "wechat_unionid": IdentityType.WECHAT_UNIONID,
    "wechat_openid": IdentityType.WECHAT_OPENID,
    "pos_card": IdentityType.POS_CARD,
    "tmall_id": IdentityType.TMALL,
    "jd_id": IdentityType.JD,
}
WECHAT_APP = "wechat_app_id"
# A column mapped to `identity:<kind>` (customers) or `customer_identity:<kind>`
# (orders) holds a CUSTOM identity whose namespace is <kind>.
CUSTOM_IDENTITY = "identity:"
CUSTOMER_PREFIX = "customer_"
# The columns an order names its customer by, one per row (docs/import.md).
ORDER_CUSTOMER_FIELDS = (
    "customer_external_id",
    *(CUSTOMER_PREFIX + name for name in IDENTITY_FIELDS),
    "customer_phone",
    "customer_email",
)

_IDENTITY_ALIASES: dict[str, Sequence[str]] = {
    "wechat_unionid": ("wechat_unionid", "unionid", "微信unionid", "微信UnionID"),
    "wechat_openid": ("wechat_openid", "openid", "微信openid", "微信OpenID"),
    "pos_card": ("pos_card", "card_no", "POS卡号", "卡号", "实体卡号", "门店卡号"),
    "tmall_id": ("tmall_id", "天猫ID", "天猫账号", "天猫会员名"),
    "jd_id": ("jd_id", "京东ID", "京东账号"),
}
_APP_ALIASES = (WECHAT_APP, "appid", "微信AppID", "小程序AppID", "公众号AppID")

# Header aliases, compared after `header_key` (case, blanks, `_` and `-` ignored).
CUSTOMER_ALIASES: dict[str, Sequence[str]] = {
    "external_id": (
        "external_id",
        "外部ID",
        "会员ID",
        "会员编号",
        "会员卡号",
        "客户ID",
        "客户编号",
    ),
    "phone": ("phone", "mobile", "手机号", "手机", "手机号码", "电话", "联系电话"),
    "email": ("email", "e-mail", "邮箱", "电子邮箱", "电子邮件"),
    "name": ("name", "姓名", "名字", "会员姓名", "客户姓名"),
    "birthday": ("birthday", "生日", "出生日期"),
    "gender": ("gender", "性别"),
    "city": ("city", "城市", "所在城市"),
    "acquisition_channel": ("acquisition_channel", "来源", "来源渠道", "注册渠道"),
    **_IDENTITY_ALIASES,
    WECHAT_APP: _APP_ALIASES,
}
ORDER_ALIASES: dict[str, Sequence[str]] = {
    "external_id": ("external_id", "order_id", "订单号", "订单编号", "外部订单号"),
    "customer_external_id": (
        "customer_external_id",
        "customer",
        "外部ID",
        "会员ID",
        "会员编号",
        "会员卡号",
        "客户ID",
        "客户编号",
    ),
    **{
        CUSTOMER_PREFIX + name: (CUSTOMER_PREFIX + name, *aliases[1:])
        for name, aliases in _IDENTITY_ALIASES.items()
    },
    # Not bare `phone`/`手机号`: an orders export often carries the buyer's phone
    # beside the member id, and a row naming its customer twice is refused.
    "customer_phone": ("customer_phone", "会员手机号", "客户手机号", "买家手机号"),
    "customer_email": ("customer_email", "会员邮箱", "客户邮箱"),
    WECHAT_APP: _APP_ALIASES,
    "amount": ("amount", "金额", "订单金额", "实付金额", "支付金额"),
    "placed_at": ("placed_at", "date", "下单时间", "订单时间", "付款时间", "下单日期"),
    "currency": ("currency", "币种", "货币"),
    "channel": ("channel", "渠道", "店铺", "销售渠道"),
}


def custom_kind(field: str, kind: str) -> str | None:
    """The CUSTOM identity kind a mapped field names (`identity:crm` in a customers
    file, `customer_identity:crm` in an orders file), or None."""
    prefix = CUSTOM_IDENTITY if kind == "customers" else CUSTOMER_PREFIX + CUSTOM_IDENTITY
    return field[len(prefix) :] if field.startswith(prefix) else None


def header_key(header: Any) -> str:
    text = unicodedata.normalize("NFKC", "" if header is None else str(header))
    return "".join(ch for ch in text.lstrip("\ufeff").lower() if ch not in " _-\t")


def map_columns(
    headers: Sequence[Any], kind: str, overrides: dict[str, str] | None = None
) -> dict[str, int]:
    """field -> column index, from the header row: `overrides` first (column header
    -> field, the `--map` option), then the aliases. Refuses (ValueError) a layout
    without a required field, an override naming no column or no field, or two
    columns for one field."""
    aliases = CUSTOMER_ALIASES if kind == "customers" else ORDER_ALIASES
    known = {header_key(a): name for name, names in aliases.items() for a in names}
    keys = [header_key(h) for h in headers]
    columns: dict[str, int] = {}
    taken: set[int] = set()
    for column, name in (overrides or {}).items():
        custom = custom_kind(name, kind)
        if custom is not None:
            try:
                identity_of(IdentityInput(IdentityType.CUSTOM, "-", custom), ("identity",))
            except (DomainError, InvalidInput) as exc:
                raise ValueError(f"--map {column}={name}: {exc}") from None
        elif name not in aliases:
            raise ValueError(
                f"--map {column}={name}: {name} is not one of {', '.join(aliases)}"
                f" or {'' if kind == 'customers' else CUSTOMER_PREFIX}{CUSTOM_IDENTITY}KIND."
            )
        if header_key(column) not in keys:
            raise ValueError(f"--map {column}={name}: the file has no column {column!r}.")
        index = keys.index(header_key(column))
        columns[name] = index
        taken.add(index)
    by_override = set(columns)
    for index, key in enumerate(keys):
        alias = known.get(key)
        if alias is None or index in taken or alias in by_override:
            continue
        if alias in columns:
            raise ValueError(
                f"columns {headers[columns[alias]]!r} and {headers[index]!r} are both "
                f"{alias}: name the one to use with --map."
            )
        columns[alias] = index
    missing = [f for f in REQUIRED[kind] if f not in columns]
    if kind == "orders" and not any(
        f in ORDER_CUSTOMER_FIELDS or custom_kind(f, kind) is not None for f in columns
    ):
        missing.insert(0, f"the customer (one of {', '.join(ORDER_CUSTOMER_FIELDS)})")
    if missing:
        raise ValueError(
            f"the header row has no column for {', '.join(missing)} "
            f"(see docs/import.md, or name it with --map COLUMN=FIELD)."
        )
    return columns
