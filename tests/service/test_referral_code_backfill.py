"""Migration 0009 gives every customer created before codes were made at creation a
referral code: unique, from the code alphabet, and a code already handed out is kept."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime

from sqlalchemy import insert, text

from domain.referrals import CODE_ALPHABET, CODE_LENGTH
from persistence import migrations
from persistence.customers import CustomerRow
from persistence.database import Database

CODE = re.compile(f"[{CODE_ALPHABET}]{{{CODE_LENGTH}}}")
AT = datetime(2026, 1, 1, tzinfo=UTC)


def old_customer(external_id: str, code: str | None) -> dict:
    """A row as written before 0009 (the schema at 0008 is the models' schema)."""
    return {
        "external_id": external_id,
        "created_at": AT,
        "updated_at": AT,
        "attributes": {},
        "referral_code": code,
    }


async def test_backfill_gives_every_customer_a_unique_code(database_url):
    await asyncio.to_thread(migrations.downgrade, database_url, "0008")
    database = Database.connect(database_url)
    try:
        async with database.engine.begin() as conn:
            rows = [old_customer(f"old-{i}", None) for i in range(1500)]  # > one batch
            rows.append(old_customer("shared", "KEEPME22"))
            await conn.execute(insert(CustomerRow), rows)
        await asyncio.to_thread(migrations.upgrade, database_url, "head")
        async with database.engine.connect() as conn:
            codes = dict(
                (await conn.execute(text("SELECT external_id, referral_code FROM customers"))).all()
            )
    finally:
        await database.dispose()
    assert len(codes) == 1501
    assert codes["shared"] == "KEEPME22"
    fresh = [code for external_id, code in codes.items() if external_id != "shared"]
    assert all(code is not None and CODE.fullmatch(code) for code in fresh)
    assert len(set(codes.values())) == 1501
