"""A customer's further identities: the ids other systems know them by.

The storefront's `external_id` stays on the customer row; every other id (a WeChat
unionid, an openid per mini-program or official account, a POS card, a Tmall or JD
buyer id, a brand's own kind) is one row here, unique within its (type, namespace):
`namespace` is the WeChat app id for `WECHAT_OPENID`, the brand's own name for a
`CUSTOM` type, and empty otherwise.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from persistence.base import Base
from persistence.types import BigId, UtcDateTime


class CustomerIdentityRow(Base):
    __tablename__ = "customer_identities"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"))
    type: Mapped[str] = mapped_column(String(32))
    namespace: Mapped[str] = mapped_column(String(64), default="", server_default="")
    value: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        UniqueConstraint("type", "namespace", "value"),
        Index("ix_customer_identities_customer_id", "customer_id"),
    )
