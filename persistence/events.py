"""The outbox: domain events written in the same transaction as their change."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, String, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.events import Event
from persistence.base import Base
from persistence.types import BigId, JsonDocument, UtcDateTime


class EventRow(Base):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int | None] = mapped_column(BigId)
    payload: Mapped[dict] = mapped_column(JsonDocument)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # PostgreSQL: the writing transaction's id (pg_current_xact_id), so readers can
    # stop before transactions that are still open. SQLite: null (writers are serial).
    txid: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_events_txid_id", "txid", "id"),
        Index("ix_events_customer_id_id", "customer_id", "id"),
        Index("ix_events_type_id", "type", "id"),
    )


class SqlEventRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._txid: int | None = None

    async def append(self, event: Event) -> None:
        self.session.add(
            EventRow(
                type=event.type.value,
                customer_id=event.customer_id,
                payload=event.payload,
                occurred_at=event.occurred_at,
                txid=await self._transaction_id(),
            )
        )

    async def _transaction_id(self) -> int | None:
        if self.session.bind.dialect.name != "postgresql":
            return None
        if self._txid is None:
            result = await self.session.execute(text("SELECT pg_current_xact_id()::text::bigint"))
            self._txid = result.scalar_one()
        return self._txid
