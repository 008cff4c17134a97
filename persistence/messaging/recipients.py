"""What a send reads of a customer: contact fields, balance, tier name, openids."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.identities import IdentityType
from domain.messaging.channels import Recipient
from domain.messaging.pipeline import RECIPIENTS
from persistence.customers import CustomerRow
from persistence.identities import CustomerIdentityRow
from persistence.repositories import register
from persistence.tiers import TierRow


class SqlRecipientRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def recipient(self, customer_id: int) -> Recipient | None:
        row = (
            await self.session.execute(
                select(CustomerRow, TierRow.name)
                .outerjoin(TierRow, TierRow.id == CustomerRow.tier_id)
                .where(CustomerRow.id == customer_id)
            )
        ).first()
        if row is None:
            return None
        customer, tier = row
        if customer.erased_at is not None or customer.merged_into_id is not None:
            return None
        openids = await self.session.execute(
            select(CustomerIdentityRow.namespace, CustomerIdentityRow.value).where(
                CustomerIdentityRow.customer_id == customer_id,
                CustomerIdentityRow.type == IdentityType.WECHAT_OPENID.value,
            )
        )
        return Recipient(
            customer_id=customer.id,
            external_id=customer.external_id,
            name=customer.name,
            email=customer.email,
            phone=customer.phone,
            points_balance=customer.points_balance,
            tier=tier,
            openids={namespace: value for namespace, value in openids.all()},
        )


register(RECIPIENTS, lambda tx: SqlRecipientRepository(tx.session))
