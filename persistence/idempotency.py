"""Remembered results of retried writes: same key and input → the first result."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, UniqueConstraint, exists, func, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.idempotency import IDEMPOTENCY
from persistence.base import Base, table_of
from persistence.repositories import register
from persistence.statements import rows_matched
from persistence.types import BigId, JsonDocument, UtcDateTime


class IdempotencyRow(Base):
    __tablename__ = "idempotency_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    operation: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(128))
    request_hash: Mapped[str] = mapped_column(String(64))
    result: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        UniqueConstraint("operation", "key", name="uq_idempotency_keys_operation_key"),
    )


class SqlIdempotencyRepository:
    """Remembering a key inserts its row early in the transaction: a concurrent
    request with the same key then waits on the unique index and, once the first
    commits, fails with ConcurrentWrite; its retry finds the stored result."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def find(self, operation: str, key: str) -> tuple[str, dict[str, Any]] | None:
        row = (
            await self.session.execute(
                select(IdempotencyRow).where(
                    IdempotencyRow.operation == operation, IdempotencyRow.key == key
                )
            )
        ).scalar_one_or_none()
        return (row.request_hash, dict(row.result)) if row else None

    async def remember(
        self, operation: str, key: str, request_hash: str, result: dict[str, Any], at: datetime
    ) -> None:
        self.session.add(
            IdempotencyRow(
                operation=operation,
                key=key,
                request_hash=request_hash,
                result=result,
                created_at=at,
            )
        )
        await self.session.flush()

    async def copy_scope(self, operation: str, old_prefix: str, new_prefix: str) -> int:
        table = table_of(IdempotencyRow)
        there = table.alias("there")
        renamed = literal(new_prefix, String) + func.substr(table.c.key, len(old_prefix) + 1)
        copies = select(
            table.c.operation, renamed, table.c.request_hash, table.c.result, table.c.created_at
        ).where(
            table.c.operation == operation,
            func.substr(table.c.key, 1, len(old_prefix)) == old_prefix,
            ~exists().where(there.c.operation == operation, there.c.key == renamed),
        )
        done = await self.session.execute(
            insert(table).from_select(
                ["operation", "key", "request_hash", "result", "created_at"], copies
            )
        )
        return rows_matched(done)


register(IDEMPOTENCY, lambda tx: SqlIdempotencyRepository(tx.session))
