"""Depth and alias limits as one validation rule, linear in the document.

strawberry's QueryDepthLimiter and MaxAliasesLimiter follow every path through the
fragment graph, so a document whose fragments each spread the next two takes time
exponential in its length. Here each fragment's depth and alias count are computed
once and reused at every spread. Cycles count as nothing here: NoFragmentCyclesRule
refuses them, and unknown fragments are KnownFragmentNamesRule's to report.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from graphql.language import SKIP

from api.protections.limits import QueryLimits, QueryTooComplex


@dataclass(frozen=True)
class Shape:
    depth: int
    aliases: int


NOTHING = Shape(0, 0)


class ShapeOfDocument:
    """Depth and aliases of a document's operations, each fragment measured once.

    `visits` counts selections looked at: it grows with the document's size, never
    with the number of paths through its fragments (the tests rely on this).
    """

    def __init__(self, document: DocumentNode) -> None:
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.measured: dict[str, Shape] = {}
        self.measuring: set[str] = set()
        self.visits = 0

    def of_operation(self, operation: OperationDefinitionNode) -> Shape:
        return self.of_selection_set(operation.selection_set)

    def of_fragment(self, name: str) -> Shape:
        if name in self.measured:
            return self.measured[name]
        fragment = self.fragments.get(name)
        if fragment is None or name in self.measuring:
            return NOTHING
        self.measuring.add(name)
        shape = self.of_selection_set(fragment.selection_set)
        self.measuring.discard(name)
        self.measured[name] = shape
        return shape

    def of_selection_set(self, selection_set: SelectionSetNode) -> Shape:
        depth = aliases = 0
        for selection in selection_set.selections:
            self.visits += 1
            if isinstance(selection, FieldNode):
                if selection.alias is not None:
                    aliases += 1
                if selection.selection_set is None or selection.name.value.startswith("__"):
                    continue  # a leaf, or introspection (GraphiQL's own query is deep)
                inner = self.of_selection_set(selection.selection_set)
                depth = max(depth, inner.depth + 1)
                aliases += inner.aliases
            else:
                if isinstance(selection, InlineFragmentNode):
                    inner = self.of_selection_set(selection.selection_set)
                elif isinstance(selection, FragmentSpreadNode):
                    inner = self.of_fragment(selection.name.value)
                else:  # pragma: no cover - the three kinds of selection
                    continue
                depth = max(depth, inner.depth)
                aliases += inner.aliases
        return Shape(depth, aliases)


def shape_rule(limits: QueryLimits) -> type[ASTValidationRule]:
    """A validation rule class refusing operations deeper or more aliased than `limits`."""

    class ShapeLimits(ASTValidationRule):
        def enter_document(self, node: DocumentNode, *_args: object) -> object:
            shape = ShapeOfDocument(node)
            for definition in node.definitions:
                if not isinstance(definition, OperationDefinitionNode):
                    continue
                name = definition.name.value if definition.name else "anonymous"
                try:
                    measured = shape.of_operation(definition)
                except RecursionError:
                    self.report_error(
                        QueryTooComplex(
                            f"'{name}' is nested too deeply to check.", limit=limits.max_depth
                        )
                    )
                    continue
                if measured.depth > limits.max_depth:
                    self.report_error(
                        QueryTooComplex(
                            f"'{name}' exceeds maximum operation depth of {limits.max_depth}",
                            limit=limits.max_depth,
                            depth=measured.depth,
                        )
                    )
                if measured.aliases > limits.max_aliases:
                    self.report_error(
                        QueryTooComplex(
                            f"'{name}' has {measured.aliases} aliases; at most "
                            f"{limits.max_aliases} aliases are allowed.",
                            limit=limits.max_aliases,
                            aliases=measured.aliases,
                        )
                    )
            return SKIP

    return ShapeLimits
