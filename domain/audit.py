"""`loyalty ledger audit`: every ledger invariant of docs/ledger.md, for every customer.

Every entry kind counts the same way, the merge's TRANSFER_OUT / TRANSFER_IN included
(docs/merging.md): a merged customer's transfer entries bring its balance to 0 as its
lots leave it, the survivor's bring in what the lots it receives hold (less a debt
they paid), so both customers satisfy the invariants with no special case."""

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
