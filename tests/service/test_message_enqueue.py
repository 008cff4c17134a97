"""`enqueue` (domain/messaging/outbound.py): the contract journeys rely on."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.clock import FixedClock
from domain.customers import CustomerService, ProfileInput, UpsertCustomer
from domain.errors import InvalidInput
from domain.messaging.messages import MESSAGES, MessageStatus
from domain.messaging.outbound import OutboundMessage, enqueue
from persistence.database import Database
from tests.conftest import utc
from tests.service import wiring

NOW = utc(2026, 3, 1, 12)


async def customer(database: Database) -> int:
    service = CustomerService(wiring.uow_factory(database), FixedClock(NOW), phone_region=None)
    result = await service.upsert(UpsertCustomer("c-1", ProfileInput(email="c1@example.com")))
    return result.customer.id


def message(customer_id: int, key: str = "journey:1:run:1:step:0", **kwargs) -> OutboundMessage:  # noqa: ANN003
    return OutboundMessage(
        customer_id=customer_id,
        template_ids=kwargs.pop("template_ids", (7, 8)),
        dedupe_key=key,
        campaign_id=None,
        variant=None,
        variables=kwargs.pop("variables", {"coupon_code": "ABC"}),
        **kwargs,
    )


async def test_enqueue_writes_one_queued_message_per_key(database: Database) -> None:
    customer_id = await customer(database)
    async with wiring.unit_of_work(database) as uow:
        first = await enqueue(uow, message(customer_id), NOW)
        again = await enqueue(uow, message(customer_id, template_ids=(9,)), NOW)
        await uow.commit()
    assert not first.replayed and again.replayed
    assert again.message_id == first.message_id
    async with wiring.unit_of_work(database) as uow:
        stored = await uow.repo(MESSAGES).get(first.message_id)
        # A later transaction with the same key replays too.
        later = await enqueue(uow, message(customer_id), NOW)
    assert later.replayed and later.message_id == first.message_id
    assert stored is not None
    assert stored.status is MessageStatus.QUEUED
    assert stored.template_ids == (7, 8)
    assert stored.variables == {"coupon_code": "ABC"}
    assert stored.next_attempt_at == NOW


async def test_enqueue_writes_nothing_without_the_callers_commit(database: Database) -> None:
    customer_id = await customer(database)
    async with wiring.unit_of_work(database) as uow:
        queued = await enqueue(uow, message(customer_id, not_before=NOW + timedelta(hours=2)), NOW)
    async with wiring.unit_of_work(database) as uow:
        assert await uow.repo(MESSAGES).get(queued.message_id) is None
        again = await enqueue(uow, message(customer_id, not_before=NOW + timedelta(hours=2)), NOW)
        stored = await uow.repo(MESSAGES).get(again.message_id)
    assert not again.replayed
    assert stored is not None and stored.next_attempt_at == NOW + timedelta(hours=2)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"key": " "}, "dedupe_key"),
        ({"template_ids": ()}, "template_ids"),
        ({"variables": {"not a name": "x"}}, "variables"),
    ],
)
async def test_enqueue_refuses_a_message_that_could_never_be_sent(
    database: Database, changes: dict, field: str
) -> None:
    customer_id = await customer(database)
    async with wiring.unit_of_work(database) as uow:
        with pytest.raises(InvalidInput) as refused:
            await enqueue(uow, message(customer_id, **changes), NOW)
    assert [e.field[0] for e in refused.value.errors] == [field]
