"""The README's event catalogue is generated from the payload definitions."""

from __future__ import annotations

from domain.event_payloads import CURRENT, EXAMPLES, check
from domain.events import EventType
from scripts.event_catalogue import README, with_catalogue


def test_the_readme_catalogue_is_the_generated_one():
    readme = README.read_text()
    assert readme == with_catalogue(readme), (
        "README.md's event catalogue is out of date: run "
        ".venv/bin/python -m scripts.event_catalogue --write"
    )


def test_every_type_has_one_example_that_conforms_to_its_definition():
    assert sorted(example.TYPE for example in EXAMPLES) == sorted(EventType)
    for example in EXAMPLES:
        assert type(example) is CURRENT[example.TYPE]
        assert check(example.TYPE, example.to_json()) == []


def test_no_domain_code_builds_an_event_from_a_hand_written_dict():
    """Services raise events with `Event.of(payload)`; a bare `Event(...)` call (a
    dict payload) appears nowhere in domain/ but in domain/events.py itself."""
    import ast
    from pathlib import Path

    domain = Path(__file__).resolve().parents[2] / "domain"
    bare = []
    for path in sorted(domain.rglob("*.py")):
        if path.name == "events.py" and path.parent == domain:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Event":
                bare.append(f"{path.relative_to(domain.parent)}:{node.lineno}")
    assert bare == []
