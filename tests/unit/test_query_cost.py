"""Shape and cost of documents, computed without running them.

The work counters (`visits`) are what the tests assert on: validation must grow
with the document's size, never with the number of paths through its fragments.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from graphql import OperationDefinitionNode, parse, validate

from api.protections.cost import CostOfDocument, operation_cost
from api.protections.limits import QueryLimits
from api.protections.shape import ShapeOfDocument
from api.schema import schema

README = Path(__file__).resolve().parents[2] / "README.md"
GRAPHQL = schema._schema


def fan_out(levels: int, leaf: str = "__typename") -> str:
    """The issue's document: each fragment spreads the next two (2^levels paths)."""
    parts = ["query { __typename ...F0 }"]
    for i in range(levels):
        parts.append(f"fragment F{i} on Query {{ ...F{i + 1} ...F{min(i + 2, levels)} }}")
    parts.append(f"fragment F{levels} on Query {{ {leaf} }}")
    return "\n".join(parts)


def selections(levels: int) -> int:
    return 2 + 2 * levels + 1


@pytest.mark.parametrize("levels", [30, 300])
def test_fan_out_shape_visits_each_fragment_once(levels):
    document = parse(fan_out(levels, leaf="a: __typename"))
    shape = ShapeOfDocument(document)
    measured = shape.of_operation(document.definitions[0])
    assert shape.visits == selections(levels)  # linear, though 2^levels paths exist
    assert measured.depth == 0
    assert measured.aliases > 2**20  # counted per path, computed once per fragment


@pytest.mark.parametrize("levels", [30, 300])
def test_fan_out_cost_visits_each_fragment_once(levels):
    leaf = "customers(first: 2) { totalCount }"
    document = parse(fan_out(levels, leaf=leaf))
    cost = CostOfDocument(GRAPHQL, document, {})
    total = cost.of_operation(document.definitions[0])
    assert cost.visits == selections(levels) + 1  # + totalCount inside the leaf
    assert total > 2**20


def test_a_fragment_cycle_costs_nothing_and_validation_refuses_it():
    document = parse("query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }")
    assert ShapeOfDocument(document).of_operation(document.definitions[0]).depth == 0
    assert operation_cost(GRAPHQL, document, {}, None) == 0
    assert any("Cannot spread fragment" in e.message for e in validate(GRAPHQL, document))


NESTED = """{ customers(first: 100) { nodes { orders(first: 100) { nodes {
  customer { ledger(first: 100) { nodes { id } } } } } } } }"""


def test_connections_multiply_their_children():
    # ledger 1 + 100 × nodes 1; customer 1 + ledger; orders' nodes 1 + customer;
    # orders 1 + 100 × that; customers' nodes 1 + orders; customers 1 + 100 × that
    ledger = 1 + 100 * 1
    orders = 1 + 100 * (1 + 1 + ledger)
    assert operation_cost(GRAPHQL, parse(NESTED), {}, None) == 1 + 100 * (1 + orders)


def test_first_from_variables_and_the_default_page_size():
    query = "query($n: Int) { customers(first: $n) { nodes { id } } }"
    assert operation_cost(GRAPHQL, parse(query), {"n": 5}, None) == 1 + 5
    assert operation_cost(GRAPHQL, parse(query), {}, None) == 1 + 20
    assert operation_cost(GRAPHQL, parse("{ customers { nodes { id } } }"), {}, None) == 21
    defaulted = "query($n: Int = 7) { customers(first: $n) { nodes { id } } }"
    assert operation_cost(GRAPHQL, parse(defaulted), {}, None) == 1 + 7


def test_nodes_multiplies_by_the_ids_asked():
    query = (
        "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Customer { orders { nodes { id } } } } }"
    )
    per_customer = 1 + 20 * 1
    assert operation_cost(GRAPHQL, parse(query), {"ids": ["a"] * 50}, None) == 1 + 50 * per_customer


def test_metrics_series_costs_per_bucket():
    query = """query($from: DateTime!, $to: DateTime!, $g: Granularity!) {
      metricsSeries(from: $from, to: $to, granularity: $g) { __typename } }"""
    two_years = {"from": "2024-01-01T00:00:00+08:00", "to": "2026-01-01T00:00:00+08:00"}
    daily = operation_cost(GRAPHQL, parse(query), {**two_years, "g": "DAY"}, None)
    monthly = operation_cost(GRAPHQL, parse(query), {**two_years, "g": "MONTH"}, None)
    assert daily == 20 * 731 + 1
    assert monthly == 20 * 25 + 1


def test_bulk_mutation_counts_its_inputs():
    query = "mutation($inputs: [OrderRecordInput!]!) { ordersRecordBulk(inputs: $inputs) { __typename } }"
    assert operation_cost(GRAPHQL, parse(query), {"inputs": [{}] * 300}, None) == 10 * 300 + 1
    assert operation_cost(GRAPHQL, parse(query), {"inputs": [{}]}, None) == 10 + 1


def test_bulk_mutation_pays_its_selection_once_per_input():
    """1,000 orders answering only their ids fit; 1,000 orders each asking for the
    customer's last 100 ledger entries is 100,000 rows and is refused by the cost."""
    lean = """mutation($inputs: [OrderRecordInput!]!) { ordersRecordBulk(inputs: $inputs) {
        results { order { id } replayed userErrors { code field message } }
        userErrors { code field message } } }"""
    greedy = """mutation($inputs: [OrderRecordInput!]!) { ordersRecordBulk(inputs: $inputs) {
        results { customer { ledger(first: 100) { edges { node { points } } } } } } }"""
    inputs = {"inputs": [{}] * 1000}
    assert operation_cost(GRAPHQL, parse(lean), inputs, None) <= QueryLimits().max_cost
    assert operation_cost(GRAPHQL, parse(greedy), inputs, None) > QueryLimits().max_cost
    single = operation_cost(GRAPHQL, parse(greedy), {"inputs": [{}]}, None)
    assert operation_cost(GRAPHQL, parse(greedy), inputs, None) - 10 * 1000 == 1 + 1000 * (
        single - 10 - 1
    )


# ---- the README's examples and the costs it prints -----------------------------------


def readme_operations() -> list[tuple[str, str]]:
    """(first line, text) of every GraphQL operation the README shows."""
    text = README.read_text()
    sources = [block for block in re.findall(r"```graphql\n(.*?)```", text, re.S)]
    sources += [
        query.replace('\\"', '"') for query in re.findall(r'"query":\s*"((?:[^"\\]|\\.)*)"', text)
    ]
    operations = []
    for source in sources:
        document = parse(source)
        for definition in document.definitions:
            assert isinstance(definition, OperationDefinitionNode)
            body = source[definition.loc.start : definition.loc.end]
            operations.append((" ".join(body.split())[:60], body))
    return operations


def readme_cost_table() -> dict[str, int]:
    section = README.read_text().split("### What the README's examples cost", 1)[1]
    rows = re.findall(r"^\| `(.+?)` \| (\d+) \|$", section, re.M)
    return {first: int(cost) for first, cost in rows}


def test_readme_examples_are_valid_and_cost_what_the_readme_says():
    computed = {}
    for first, body in readme_operations():
        document = parse(body)
        assert validate(GRAPHQL, document) == [], first
        computed[first] = operation_cost(GRAPHQL, document, {}, None)
    assert readme_cost_table() == computed
    assert max(computed.values()) <= 50_000
