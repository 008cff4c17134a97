"""The field catalogue: every field a rule may name, its type and allowed values."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

LIFECYCLE_STAGES = ("PROSPECT", "NEW", "LOYAL", "ACTIVE", "SILENT", "CHURNED")
RFM_CLASSES = (
    "IMPORTANT_VALUE",
    "IMPORTANT_DEVELOP",
    "IMPORTANT_RETAIN",
    "IMPORTANT_WINBACK",
    "GENERAL_VALUE",
    "GENERAL_DEVELOP",
    "GENERAL_RETAIN",
    "GENERAL_WINBACK",
)
GENDERS = ("FEMALE", "MALE", "OTHER", "UNDISCLOSED")


class FieldType(StrEnum):
    NUMBER = "number"
    MONEY = "money"
    DATE = "date"
    ENUM = "enum"
    STRING = "text"
    TAG = "tag"
    TIER = "tier"
    MONTH = "month"
    ATTRIBUTE = "attribute"


@dataclass(frozen=True)
class Field:
    name: str
    type: FieldType
    description: str
    values: tuple[str, ...] = ()
    low: int | None = None
    high: int | None = None
    argument: str | None = None  # "category" / "key": the field takes one
    order_derived: bool = False  # computed from orders as of the rule's as-of instant
    fractional: bool = False  # a NUMBER that takes fractions (points_balance, p_alive)


FIELDS: dict[str, Field] = {
    f.name: f
    for f in (
        Field("orders_count", FieldType.NUMBER, "counted orders", low=0, order_derived=True),
        Field("total_spent", FieldType.MONEY, "net amount of counted orders", order_derived=True),
        Field(
            "average_order_value",
            FieldType.MONEY,
            "total_spent / orders_count (unknown without orders)",
            order_derived=True,
        ),
        Field("points_balance", FieldType.NUMBER, "available points now", fractional=True),
        Field(
            "p_alive",
            FieldType.NUMBER,
            "probability the customer is still active, 0-1 (the stored prediction fit)",
            low=0,
            high=1,
            fractional=True,
        ),
        Field(
            "predicted_clv",
            FieldType.MONEY,
            "predicted net spend in the next 365 days, 10 %/year discount (the stored fit)",
        ),
        Field("first_order_at", FieldType.DATE, "first counted order", order_derived=True),
        Field("last_order_at", FieldType.DATE, "last counted order", order_derived=True),
        Field("created_at", FieldType.DATE, "when the customer was created"),
        Field(
            "lifecycle",
            FieldType.ENUM,
            "lifecycle stage",
            values=LIFECYCLE_STAGES,
            order_derived=True,
        ),
        Field("rfm_class", FieldType.ENUM, "RFM class", values=RFM_CLASSES, order_derived=True),
        Field("r_score", FieldType.NUMBER, "RFM recency score", low=1, high=5, order_derived=True),
        Field(
            "f_score", FieldType.NUMBER, "RFM frequency score", low=1, high=5, order_derived=True
        ),
        Field("m_score", FieldType.NUMBER, "RFM monetary score", low=1, high=5, order_derived=True),
        Field("tier", FieldType.TIER, "current tier, by name; < and > compare tier ranks"),
        Field("tag", FieldType.TAG, "a tag the customer wears"),
        Field("channel", FieldType.STRING, "acquisition channel"),
        Field("city", FieldType.STRING, "city"),
        Field("name", FieldType.STRING, "the customer's name"),
        Field("gender", FieldType.ENUM, "gender", values=GENDERS),
        Field("birthday_month", FieldType.MONTH, "month of birth, 1-12", low=1, high=12),
        Field(
            "category_spent",
            FieldType.MONEY,
            'spend on items of one category, like category_spent("shoes")',
            argument="category",
            order_derived=True,
        ),
        Field(
            "attributes",
            FieldType.ATTRIBUTE,
            "a custom attribute, like attributes.vip_level",
            argument="key",
        ),
    )
}
