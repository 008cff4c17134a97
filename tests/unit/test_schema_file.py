"""schema.graphql is what the code serves: a change to the API shows up in review."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from api.cli import main
from api.schema import schema

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_schema_file_matches_the_code():
    # `loyalty export-schema` (what `make schema` writes) prints the SDL and a newline.
    assert SCHEMA_FILE.read_text() == schema.as_str() + "\n", "run `make schema`"


def test_export_schema_prints_the_file():
    result = CliRunner().invoke(main, ["export-schema"])
    assert result.exit_code == 0
    assert result.output == SCHEMA_FILE.read_text()
