"""Saved segments, their repository, and the rule compiler: checked rule → SQL.

The compiler turns a `domain.segment_rules.Rule` into one SQLAlchemy boolean
expression over `customers`, outer-joined (only when the rule needs it) to
`classification_query(as_of, program)` for the order-derived values. Every value of
the rule is a bound parameter; no rule text ever becomes SQL text.

Every comparison compiles to TRUE or FALSE, never NULL (see the language's docstring:
`=`/`<`/`IN` never match an unknown value, `!=`/`NOT IN` always do), so `NOT` is an
exact complement.

What each field reads, as of the instant `as_of`:
- orders_count, total_spent, first/last_order_at, lifecycle, rfm_class, r/f/m_score:
  the classification query (counted orders placed at or before `as_of`).
- average_order_value: compared without dividing, `net_spent OP v × orders_count`
  for customers with orders (exact on both databases, no integer division).
- category_spent("c"): Σ quantity × unit_price of the items of category `c` (case
  ignored) in counted orders placed at or before `as_of`. Refunds are recorded per
  order, not per item, so partial refunds are not taken off item spend: the value is
  gross item spend of orders that still count.
- p_alive, predicted_clv: the customer's stored prediction of the fit in use
  (persistence/predictions.py), whatever `as_of` is; unknown without one.
- points_balance, tier, tag, city, channel, name, gender, birthday_month,
  created_at, attributes: the customer's current values (they have no history to
  take as of; created_at is compared as it is).
- Text comparisons (city, channel, name, tier, category, text attributes) ignore
  case; SQLite's lower() folds ASCII letters only.
- Erased customers belong to no segment.

The package, by job: `rows` (the table), `repository` (the unit of work's door),
`compiler` (rule → SQL), `reads` (what the API reads).
"""

from persistence.segments.compiler import (
    RuleContext,
    members_statement,
    rule_clause,
    rule_context,
    with_classification,
)
from persistence.segments.reads import (
    MEMBER_SORT,
    all_segments,
    members_of_rules,
    saved_segments,
    segment_count,
    segment_counts,
    segment_members,
    segments_by_ids,
    segments_of_customers,
)
from persistence.segments.repository import (
    SqlSegmentRepository,
)
from persistence.segments.rows import (
    SegmentRow,
    to_domain,
)

__all__ = [
    "MEMBER_SORT",
    "RuleContext",
    "SegmentRow",
    "SqlSegmentRepository",
    "all_segments",
    "members_of_rules",
    "members_statement",
    "rule_clause",
    "rule_context",
    "saved_segments",
    "segment_count",
    "segment_counts",
    "segment_members",
    "segments_by_ids",
    "segments_of_customers",
    "to_domain",
    "with_classification",
]
