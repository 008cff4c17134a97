"""Attaching, detaching and finding a customer's identities (rules: domain/identities.py).

Its own module because it names customers (`CustomerRef`, domain/customers.py),
which in turn uses the identity rules for references and `customerUpsert`.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.clock import Clock
from domain.customers import (
    CUSTOMERS,
    Customer,
    CustomerRef,
    attach_identities,
    find_live,
)
from domain.errors import DomainError, ErrorCode, present
from domain.idempotency import retrying
from domain.identities import (
    IDENTITIES,
    CustomerIdentity,
    Identity,
    IdentityInput,
    describe,
    identity_of,
)
from domain.unit_of_work import UnitOfWorkFactory


@dataclass(frozen=True)
class AttachIdentity:
    customer: CustomerRef
    identity: IdentityInput


@dataclass(frozen=True)
class DetachIdentity:
    customer: CustomerRef
    identity: IdentityInput


@dataclass(frozen=True)
class IdentityChange:
    customer: Customer
    identity: Identity
    changed: bool  # False: the customer already held it (attach) — nothing written


@dataclass(frozen=True)
class Attached(IdentityChange):
    held: CustomerIdentity  # as stored (when it was attached)


class IdentityService:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock, *, phone_region: str | None):
        self.uow_factory = uow_factory
        self.clock = clock
        self.phone_region = phone_region

    async def attach(self, command: AttachIdentity) -> Attached:
        """Attaches the identity to the customer (locked, not erased). Held by them
        already: a no-op that succeeds; held by another: IDENTITY_TAKEN. Two attaches
        of one identity at once: the loser's insert fails on the unique key and runs
        again, then sees the winner (and is a no-op or IDENTITY_TAKEN)."""
        identity = identity_of(command.identity, ("identity",))
        return await retrying(lambda: self._attach_once(command.customer, identity))

    async def _attach_once(self, ref: CustomerRef, identity: Identity) -> Attached:
        now = self.clock.now()
        async with self.uow_factory() as uow:
            customer = await find_live(uow, ref, ("customer",), phone_region=self.phone_region)
            customer_id = present(customer.id, "customer id")
            added = await attach_identities(
                uow, customer_id, [identity], now, path=("identity",), listed=False
            )
            held = next(
                h
                for h in await uow.repo(IDENTITIES).of_customer(customer_id)
                if h.identity == identity
            )
            await uow.commit()
            return Attached(customer, identity, changed=bool(added), held=held)

    async def detach(self, command: DetachIdentity) -> IdentityChange:
        """Detaches the identity from the customer; NOT_FOUND when they do not hold it
        (another customer's identity is never detached through this one)."""
        identity = identity_of(command.identity, ("identity",))
        async with self.uow_factory() as uow:
            customer = await find_live(
                uow, command.customer, ("customer",), phone_region=self.phone_region
            )
            if not await uow.repo(IDENTITIES).remove(present(customer.id, "customer id"), identity):
                raise DomainError(
                    ErrorCode.NOT_FOUND,
                    ("identity", "value"),
                    f"This customer does not hold {describe(identity)}.",
                )
            await uow.commit()
            return IdentityChange(customer, identity, changed=True)

    async def find(self, given: IdentityInput) -> Customer | None:
        """The customer holding the identity, or None."""
        identity = identity_of(given, ("identity",))
        async with self.uow_factory() as uow:
            holder = (await uow.repo(IDENTITIES).holders([identity])).get(identity)
            return None if holder is None else await uow.repo(CUSTOMERS).get(holder)
