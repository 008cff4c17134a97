"""The unit of work: the only place a transaction commits.

`async with uow:` opens a write transaction (``BEGIN IMMEDIATE`` on SQLite), the
service loads with locks, changes, and calls ``commit()``; leaving the block without
committing rolls everything back, so a refused command writes nothing. A unique-key
race with another transaction surfaces as `ConcurrentWrite`, which services retry.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import ConcurrentWrite
from domain.program import ProgramSettings
from persistence.api_keys import SqlApiKeyRepository
from persistence.customers import SqlCustomerRepository
from persistence.database import Database
from persistence.events import SqlEventRepository
from persistence.feedback import SqlFeedbackRepository
from persistence.idempotency import SqlIdempotencyRepository
from persistence.orders import SqlOrderRepository
from persistence.points import SqlPointsRepository
from persistence.program import SqlProgramRepository
from persistence.referrals import SqlReferralRepository
from persistence.rewards import SqlRedemptionRepository, SqlRewardRepository
from persistence.segments import SqlSegmentRepository
from persistence.tags import SqlTagRepository
from persistence.tiers import SqlTierRepository


class SqlUnitOfWork:
    session: AsyncSession

    def __init__(self, database: Database, program_defaults: ProgramSettings | None = None) -> None:
        self.database = database
        self.program_defaults = program_defaults or ProgramSettings()

    def fresh(self) -> SqlUnitOfWork:
        """Another unit of work on the same database (for services that retry)."""
        return SqlUnitOfWork(self.database, self.program_defaults)

    async def __aenter__(self) -> SqlUnitOfWork:
        self.session = await self.database.write_session()
        self.customers = SqlCustomerRepository(self.session)
        self.tags = SqlTagRepository(self.session)
        self.api_keys = SqlApiKeyRepository(self.session)
        self.program = SqlProgramRepository(self.session, self.program_defaults)
        self.events = SqlEventRepository(self.session)
        self.orders = SqlOrderRepository(self.session)
        self.points = SqlPointsRepository(self.session)
        self.idempotency = SqlIdempotencyRepository(self.session)
        self.referrals = SqlReferralRepository(self.session)
        self.tiers = SqlTierRepository(self.session)
        self.rewards = SqlRewardRepository(self.session)
        self.redemptions = SqlRedemptionRepository(self.session)
        self.feedback = SqlFeedbackRepository(self.session)
        self.segments = SqlSegmentRepository(self.session)
        return self

    async def __aexit__(self, exc_type, exc, tb) -> None:  # noqa: ANN001
        try:
            await self.session.rollback()
        finally:
            await self.session.close()
        if isinstance(exc, IntegrityError) and _is_unique_violation(exc):
            raise ConcurrentWrite(str(exc.orig)) from exc

    async def commit(self) -> None:
        await self.session.commit()


def _is_unique_violation(exc: IntegrityError) -> bool:
    text = str(exc.orig).lower()
    return "unique" in text or "duplicate key" in text
