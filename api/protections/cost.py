"""The static cost of an operation, computed before execution.

How a cost is counted (the README's "Running it in public" shows the same rules):

- a field with a selection (an object or a list of objects) costs 1 plus its
  children; a scalar field costs nothing unless it has a weight below;
- a field with a `first` argument (a connection, `tierHistory`, `segmentPreview`)
  multiplies its children's cost by `first` (the default page size, 20, when
  omitted; clamped to 0..100, the page-size bounds the resolver enforces), and
  `nodes(ids:)` by the number of ids;
- analytical fields add a weight (`WEIGHTS`): `metricsSeries` per bucket (period
  length / granularity), `cohorts` per month, and so on;
- each mutation field costs `MUTATION_WEIGHT`, `ordersRecordBulk` that per input.

Arguments given as variables are read from the request's variables. Fragments are
costed once each and reused at every spread, so computing a cost is linear in the
document; fragment cycles and unknown names count as nothing (validation refuses
them before this runs).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

from graphql import (
    BooleanValueNode,
    DocumentNode,
    EnumValueNode,
    ExecutionResult,
    FieldNode,
    FloatValueNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    NullValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    ValueNode,
    VariableNode,
    get_named_type,
)
from graphql.utilities import get_operation_ast
from strawberry.extensions import SchemaExtension

from api.protections.limits import QueryLimits, QueryTooComplex

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MUTATION_WEIGHT = 10
SEGMENT_LIST_ESTIMATE = 20
"""Lists of segments are not paginated: their children count this many times."""

BUCKET_DAYS = {"DAY": 1, "WEEK": 7, "MONTH": 30, "QUARTER": 91}
MAX_BUCKETS = 1000
MAX_COHORT_MONTHS = 120

Arguments = Mapping[str, Any]


def _days(arguments: Arguments) -> float | None:
    start, end = _instant(arguments.get("from")), _instant(arguments.get("to"))
    if start is None or end is None:
        return None
    try:
        return max((end - start).total_seconds() / 86_400, 0.0)
    except TypeError:  # one naive, one aware: the resolver refuses it
        return None


def _instant(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and len(value) < 64:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def buckets(arguments: Arguments) -> int:
    """metricsSeries: one bucket per granularity step of the period (at most 1000)."""
    days = _days(arguments)
    step = BUCKET_DAYS.get(str(arguments.get("granularity")), 1)
    if days is None:
        return MAX_BUCKETS
    return min(max(math.ceil(days / step), 1), MAX_BUCKETS)


def cohort_months(arguments: Arguments) -> int:
    days = _days(arguments)
    if days is None:
        return MAX_COHORT_MONTHS
    return min(max(math.ceil(days / 30) + 1, 1), MAX_COHORT_MONTHS)


def _metrics(arguments: Arguments) -> int:
    return 50 * (2 if arguments.get("compare") is not None else 1)


WEIGHTS: dict[tuple[str, str], Callable[[Arguments], int]] = {
    ("Query", "metrics"): _metrics,
    ("Query", "metricsSeries"): lambda a: 20 * buckets(a),
    ("Query", "cohorts"): lambda a: 10 * cohort_months(a),
    ("Query", "lifecycleSummary"): lambda _: 50,
    ("Query", "rfmSummary"): lambda _: 50,
    ("Query", "segmentPreview"): lambda _: 100,
    ("Query", "segments"): lambda _: 10,
    # A calibration fits both models on the whole history before answering.
    ("Query", "predictionCalibration"): lambda _: 1000,
    ("Segment", "count"): lambda _: 100,
    ("Segment", "customers"): lambda _: 100,
    ("Customer", "segments"): lambda _: 20,
    ("Customer", "rfm"): lambda _: 5,
    ("Customer", "lifecycleStage"): lambda _: 2,
    ("Customer", "tierProgress"): lambda _: 2,
    ("Tier", "customerCount"): lambda _: 5,
    ("Tag", "customerCount"): lambda _: 1,
}
"""Extra cost of fields whose SQL aggregates many rows (a scalar or an object)."""

LIST_ESTIMATES = {("Query", "segments"): SEGMENT_LIST_ESTIMATE}


def _connection_total_count_weight(type_name: str, field_name: str) -> int:
    return 1 if field_name == "totalCount" and type_name.endswith("Connection") else 0


class CostOfDocument:
    """The cost of one operation of a document with the request's variables.

    `visits` counts selections looked at: linear in the document's size.
    """

    def __init__(
        self, schema: GraphQLSchema, document: DocumentNode, variables: Mapping[str, Any]
    ) -> None:
        self.schema = schema
        self.variables = variables
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.costed: dict[str, int] = {}
        self.costing: set[str] = set()
        self.visits = 0
        self.variable_defaults: dict[str, ValueNode] = {}

    def of_operation(self, operation: OperationDefinitionNode) -> int:
        for definition in operation.variable_definitions or ():
            if definition.default_value is not None:
                self.variable_defaults[definition.variable.name.value] = definition.default_value
        root = self.schema.get_root_type(operation.operation)
        if root is None:
            return 0
        mutation = operation.operation == OperationType.MUTATION
        return self.of_selection_set(root, operation.selection_set, root_mutation=mutation)

    def of_fragment(self, name: str) -> int:
        if name in self.costed:
            return self.costed[name]
        fragment = self.fragments.get(name)
        if fragment is None or name in self.costing:
            return 0
        self.costing.add(name)
        parent = self.schema.get_type(fragment.type_condition.name.value)
        cost = self.of_selection_set(parent, fragment.selection_set) if parent else 0
        self.costing.discard(name)
        self.costed[name] = cost
        return cost

    def of_selection_set(
        self,
        parent: GraphQLNamedType,
        selection_set: SelectionSetNode,
        *,
        root_mutation: bool = False,
    ) -> int:
        total = 0
        for selection in selection_set.selections:
            self.visits += 1
            if isinstance(selection, FieldNode):
                total += self.of_field(parent, selection, root_mutation=root_mutation)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                if inner is not None:
                    total += self.of_selection_set(
                        inner, selection.selection_set, root_mutation=root_mutation
                    )
            elif isinstance(selection, FragmentSpreadNode):
                total += self.of_fragment(selection.name.value)
        return total

    def of_field(self, parent: GraphQLNamedType, node: FieldNode, *, root_mutation: bool) -> int:
        name = node.name.value
        if name.startswith("__") or not isinstance(
            parent, GraphQLObjectType | GraphQLInterfaceType
        ):
            return 0
        field = parent.fields.get(name)
        if field is None:
            return 0
        arguments = self.arguments(field, node)
        cost = _connection_total_count_weight(parent.name, name)
        weight = WEIGHTS.get((parent.name, name))
        if weight is not None:
            cost += weight(arguments)
        count = 1
        if root_mutation:
            inputs = arguments.get("inputs")
            count = max(len(inputs) if isinstance(inputs, list) else 1, 1)
            cost += MUTATION_WEIGHT * count
        if node.selection_set is not None:
            children = self.of_selection_set(get_named_type(field.type), node.selection_set)
            # A mutation over a list of inputs answers its selection once per input
            # (ordersRecordBulk's `results`): the selection is paid that many times.
            repeat = count * self.multiplier(parent.name, name, field, arguments)
            cost += 1 + repeat * children
        return cost

    def multiplier(
        self, type_name: str, field_name: str, field: GraphQLField, arguments: Arguments
    ) -> int:
        if "first" in field.args:
            first = arguments.get("first")
            if not isinstance(first, int) or isinstance(first, bool):
                first = DEFAULT_PAGE_SIZE
            return min(max(first, 0), MAX_PAGE_SIZE)
        ids = arguments.get("ids")
        if isinstance(ids, list):
            return len(ids)  # nodes(ids:): one object per id asked
        return LIST_ESTIMATES.get((type_name, field_name), 1)

    def arguments(self, field: GraphQLField, node: FieldNode) -> dict[str, Any]:
        """Argument values as plain JSON-like values; defaults for the ones omitted."""
        given = {
            argument.name.value: self.value(argument.value) for argument in node.arguments or ()
        }
        for name, argument in field.args.items():
            if name not in given and argument.default_value is not None:
                default = argument.default_value
                given[name] = default if isinstance(default, int | str) else None
        return given

    def value(self, node: ValueNode) -> Any:
        if isinstance(node, VariableNode):
            name = node.name.value
            if name in self.variables:
                return self.variables[name]
            default = self.variable_defaults.get(name)
            return self.value(default) if default is not None else None
        if isinstance(node, IntValueNode):
            return int(node.value) if len(node.value) < 20 else None
        if isinstance(node, StringValueNode | EnumValueNode):
            return node.value
        if isinstance(node, FloatValueNode | BooleanValueNode | NullValueNode):
            return None
        if isinstance(node, ListValueNode):
            return [self.value(v) for v in node.values]
        if isinstance(node, ObjectValueNode):
            return {f.name.value: self.value(f.value) for f in node.fields}
        return None


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: Mapping[str, Any] | None,
    operation_name: str | None,
) -> int:
    """The cost of the operation a request runs (0 when it names none that exists)."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return 0
    return CostOfDocument(schema, document, variables or {}).of_operation(operation)


def cost_limit(limits: QueryLimits) -> type[SchemaExtension]:
    """An extension refusing, before execution, an operation costing over the limit."""

    class CostLimit(SchemaExtension):
        def on_execute(self) -> Iterator[None]:
            context = self.execution_context
            document = context.graphql_document
            if document is not None and context.result is None:
                try:
                    cost = operation_cost(
                        context.schema._schema, document, context.variables, context.operation_name
                    )
                except RecursionError:
                    cost = limits.max_cost + 1
                if cost > limits.max_cost:
                    context.result = ExecutionResult(
                        data=None,
                        errors=[
                            QueryTooComplex(
                                f"This operation costs {cost}, over the limit of "
                                f"{limits.max_cost}: ask for smaller pages or fewer fields.",
                                limit=limits.max_cost,
                                cost=cost,
                            )
                        ],
                    )
            yield

    return CostLimit
