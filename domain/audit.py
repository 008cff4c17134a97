"""`loyalty ledger audit`: every ledger invariant of docs/ledger.md, for every customer."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from domain.points import AuditFigures, audit_violations


@dataclass(frozen=True)
class Violation:
    customer_id: int
    problem: str


def audit(figures: Iterable[AuditFigures]) -> list[Violation]:
    return [Violation(f.customer_id, problem) for f in figures for problem in audit_violations(f)]
