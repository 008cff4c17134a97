"""Area packages and what each contributes to the schema.

Every subpackage of `api/` is an area (`api/tiers/`, `api/rewards/`…). An area
declares its root fields and its `Customer` fields with the decorators below, in
its own modules; `api/schema.py` and `api/customers/types.py` find them here, so
adding an area edits neither. `position` keeps the SDL's field order stable: the
root types and `Customer` list their contributions by position, not by the order
in which Python happened to import them.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T", bound=type)

# What each kind of contribution is called in an area package, e.g. api/tiers/queries.py.
QUERIES = "queries"
MUTATIONS = "mutations"
CUSTOMER_FIELDS = "customer_fields"


@dataclass(frozen=True)
class Contribution:
    position: int
    cls: type


_CONTRIBUTIONS: dict[str, list[Contribution]] = {QUERIES: [], MUTATIONS: [], CUSTOMER_FIELDS: []}


def _contributes(kind: str, position: int) -> Callable[[T], T]:
    def register(cls: T) -> T:
        found = _CONTRIBUTIONS[kind]
        if any(c.position == position and c.cls is not cls for c in found):
            raise ValueError(f"Two {kind} contributions share position {position}.")
        if all(c.cls is not cls for c in found):
            found.append(Contribution(position, cls))
        return cls

    return register


def query_fields(position: int) -> Callable[[T], T]:
    """Marks a strawberry type whose fields join `Query`."""
    return _contributes(QUERIES, position)


def mutation_fields(position: int) -> Callable[[T], T]:
    """Marks a strawberry type whose fields join `Mutation`."""
    return _contributes(MUTATIONS, position)


def customer_fields(position: int) -> Callable[[T], T]:
    """Marks a strawberry type whose fields join `Customer` (after its own fields)."""
    return _contributes(CUSTOMER_FIELDS, position)


# Subpackages of api/ that serve every area rather than being one.
_NOT_AREAS = frozenset({"http", "protections"})


def area_names() -> list[str]:
    """The area packages: every subpackage of api/ but the shared edge ones."""
    import api

    return sorted(
        m.name for m in pkgutil.iter_modules(api.__path__) if m.ispkg and m.name not in _NOT_AREAS
    )


def contributions(kind: str) -> list[type]:
    """Imports `api.<area>.<kind>` of every area that has one, and returns what they
    registered, by position."""
    for area in area_names():
        name = f"api.{area}.{kind}"
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
    return [c.cls for c in sorted(_CONTRIBUTIONS[kind], key=lambda c: c.position)]


def load_all_areas() -> None:
    """Imports every module of every area, so each registers its node fetchers."""
    for area in area_names():
        package = importlib.import_module(f"api.{area}")
        for module in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"api.{area}.{module.name}")
