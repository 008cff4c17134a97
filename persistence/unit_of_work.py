"""The unit of work: the only place a transaction commits.

`async with uow:` opens a write transaction (``BEGIN IMMEDIATE`` on SQLite), the
service loads with locks, changes, and calls ``commit()``; leaving the block without
committing rolls everything back, so a refused command writes nothing.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from domain.program import ProgramSettings
from persistence.api_keys import SqlApiKeyRepository
from persistence.customers import SqlCustomerRepository
from persistence.database import Database
from persistence.events import SqlEventRepository
from persistence.program import SqlProgramRepository
from persistence.segments import SqlSegmentRepository
from persistence.tags import SqlTagRepository


class SqlUnitOfWork:
    session: AsyncSession

    def __init__(self, database: Database, program_defaults: ProgramSettings | None = None) -> None:
        self.database = database
        self.program_defaults = program_defaults or ProgramSettings()

    async def __aenter__(self) -> SqlUnitOfWork:
        self.session = await self.database.write_session()
        self.customers = SqlCustomerRepository(self.session)
        self.tags = SqlTagRepository(self.session)
        self.api_keys = SqlApiKeyRepository(self.session)
        self.program = SqlProgramRepository(self.session, self.program_defaults)
        self.events = SqlEventRepository(self.session)
        self.segments = SqlSegmentRepository(self.session)
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            await self.session.rollback()
        finally:
            await self.session.close()

    async def commit(self) -> None:
        await self.session.commit()
