"""Where each persistence area registers the repository behind a domain port.

An area's module ends with ``register(ORDERS, lambda tx: SqlOrderRepository(tx.session))``;
the unit of work builds a registered repository the first time a transaction asks
for it. ``register`` is generic over the port's Protocol, so mypy checks each
implementation against its domain Protocol where it is registered, and the unit of
work never lists the areas (adding an area edits no file but its own).

The areas are found by importing every module of this package once
(`import_areas`), so a module that registers cannot be forgotten.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from domain.program import ProgramSettings
from domain.unit_of_work import Port

R = TypeVar("R")


@dataclass(frozen=True)
class Transaction:
    """What a repository is built from: the transaction's session and the program
    defaults (the settings used until an admin saves some)."""

    session: AsyncSession
    program_defaults: ProgramSettings


_builders: dict[Port[Any], Callable[[Transaction], Any]] = {}


def register(port: Port[R], build: Callable[[Transaction], R]) -> None:
    """Declares how a transaction builds the repository behind `port`."""
    if port in _builders:
        raise RuntimeError(f"{port} is registered twice.")
    _builders[port] = build


def builder(port: Port[R]) -> Callable[[Transaction], R]:
    build = _builders.get(port)
    if build is None:
        raise LookupError(f"No repository is registered for {port}.")
    return build


def registered() -> frozenset[Port[Any]]:
    return frozenset(_builders)


_imported = False


def import_areas() -> None:
    """Imports every module of persistence/ so each area's registration has run."""
    global _imported
    if _imported:
        return
    import persistence

    for module in pkgutil.iter_modules(persistence.__path__):
        importlib.import_module(f"persistence.{module.name}")
    _imported = True
