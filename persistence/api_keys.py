"""API key rows and their repository. Only the SHA-256 of a key is stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.access import API_KEYS, ApiKey, Role
from persistence.base import Base
from persistence.repositories import register
from persistence.types import BigId, UtcDateTime


class ApiKeyRow(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(32))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


def to_domain(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        id=row.id,
        name=row.name,
        role=Role(row.role),
        prefix=row.prefix,
        key_hash=row.key_hash,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


class SqlApiKeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, key: ApiKey) -> ApiKey:
        row = ApiKeyRow(
            name=key.name,
            role=key.role.value,
            prefix=key.prefix,
            key_hash=key.key_hash,
            created_at=key.created_at,
            expires_at=key.expires_at,
        )
        self.session.add(row)
        await self.session.flush()
        key.id = row.id
        return key

    async def get(self, key_id: int) -> ApiKey | None:
        row = await self.session.get(ApiKeyRow, key_id)
        return to_domain(row) if row else None

    async def by_hash(self, key_hash: str) -> ApiKey | None:
        return await key_by_hash(self.session, key_hash)

    async def save(self, key: ApiKey) -> None:
        await self.session.execute(
            update(ApiKeyRow)
            .where(ApiKeyRow.id == key.id)
            .values(name=key.name, expires_at=key.expires_at, revoked_at=key.revoked_at)
        )


async def key_by_hash(session: AsyncSession, key_hash: str) -> ApiKey | None:
    row = (
        await session.execute(select(ApiKeyRow).where(ApiKeyRow.key_hash == key_hash))
    ).scalar_one_or_none()
    return to_domain(row) if row else None


async def key_by_id(session: AsyncSession, key_id: int) -> ApiKey | None:
    row = await session.get(ApiKeyRow, key_id)
    return to_domain(row) if row else None


async def list_keys(session: AsyncSession) -> list[ApiKey]:
    rows = await session.execute(select(ApiKeyRow).order_by(ApiKeyRow.id))
    return [to_domain(r) for r in rows.scalars()]


register(API_KEYS, lambda tx: SqlApiKeyRepository(tx.session))
