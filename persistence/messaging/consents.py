"""Consents (one row per customer and channel) and the recipients a send reads."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.messaging.consent import CONSENTS, Consent
from domain.messaging.templates import TemplateChannel
from persistence.messaging.rows import ConsentRow
from persistence.repositories import register
from persistence.statements import is_postgresql


def consent_of(row: ConsentRow) -> Consent:
    return Consent(
        customer_id=row.customer_id,
        channel=TemplateChannel(row.channel),
        granted=row.granted,
        source=row.source,
        at=row.at,
        recorded_at=row.recorded_at,
    )


class SqlConsentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of_customers(self, customer_ids: Sequence[int]) -> dict[int, list[Consent]]:
        return await consents_of(self.session, customer_ids)

    async def put(self, consent: Consent) -> None:
        values = {
            "customer_id": consent.customer_id,
            "channel": consent.channel.value,
            "granted": consent.granted,
            "source": consent.source,
            "at": consent.at,
            "recorded_at": consent.recorded_at,
        }
        if is_postgresql(self.session):
            from sqlalchemy.dialects.postgresql import insert as upsert
        else:
            from sqlalchemy.dialects.sqlite import insert as upsert  # type: ignore[assignment]
        statement = upsert(ConsentRow).values(values)
        statement = statement.on_conflict_do_update(
            index_elements=["customer_id", "channel"],
            set_={k: statement.excluded[k] for k in ("granted", "source", "at", "recorded_at")},
        )
        await self.session.execute(statement)

    async def move(self, from_customer: int, to_customer: int) -> None:
        moving = (await consents_of(self.session, [from_customer])).get(from_customer, [])
        if not moving:
            return
        kept = {
            c.channel: c
            for c in (await consents_of(self.session, [to_customer])).get(to_customer, [])
        }
        await self.session.execute(
            delete(ConsentRow).where(ConsentRow.customer_id == from_customer)
        )
        for consent in moving:
            current = kept.get(consent.channel)
            # The survivor's own word stands, except that a withdrawal always wins.
            if current is not None and (current.granted is False or consent.granted is True):
                continue
            await self.put(
                Consent(
                    customer_id=to_customer,
                    channel=consent.channel,
                    granted=consent.granted,
                    source=consent.source,
                    at=consent.at,
                    recorded_at=consent.recorded_at,
                )
            )

    async def remove_all(self, customer_id: int) -> int:
        found = await consents_of(self.session, [customer_id])
        await self.session.execute(delete(ConsentRow).where(ConsentRow.customer_id == customer_id))
        return len(found.get(customer_id, []))


async def consents_of(
    session: AsyncSession, customer_ids: Sequence[int]
) -> dict[int, list[Consent]]:
    """Each customer's consents by channel name: one statement for the batch."""
    if not customer_ids:
        return {}
    rows = await session.execute(
        select(ConsentRow)
        .where(ConsentRow.customer_id.in_(list(set(customer_ids))))
        .order_by(ConsentRow.customer_id, ConsentRow.channel)
    )
    found: dict[int, list[Consent]] = {}
    for row in rows.scalars():
        found.setdefault(row.customer_id, []).append(consent_of(row))
    return found


register(CONSENTS, lambda tx: SqlConsentRepository(tx.session))
