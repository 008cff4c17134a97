"""The port every service talks to the database through: a unit of work that hands
out repositories by typed key.

Why a typed accessor (``uow.repo(ORDERS)``) and not one attribute per repository: a
unit of work with attributes must list every repository in one class, so each new
area would edit that hub, and a per-service Protocol listing attributes is only
checked where someone remembers to assign the SQL class to it. With a `Port` key,
each area declares its key beside its repository Protocol (``ORDERS:
Port[OrderRepository]``), its persistence module registers an implementation
(mypy checks that implementation against the Protocol at the ``register`` call),
and every ``uow.repo(ORDERS)`` is typed as an ``OrderRepository``. A test checks
that every key declared in domain/ has a registered implementation.

How a service gets its unit of work (one way): a `UnitOfWorkFactory`, a callable
returning a fresh unit of work, called once per transaction: services that retry a
lost unique-key race need a fresh one per attempt, and the rest take the same kind
of argument so there is one way to build any service.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

R = TypeVar("R")


class Port(Generic[R]):
    """A typed key naming one repository Protocol (invariant in R, so a registered
    implementation must really be an R)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Port({self.name!r})"


class UnitOfWork(Protocol):
    """``async with uow:`` is one transaction; only ``commit()`` makes it stick."""

    def repo(self, port: Port[R]) -> R: ...
    async def __aenter__(self) -> UnitOfWork: ...
    async def __aexit__(self, *exc: object) -> None: ...
    async def commit(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]
