"""schema.graphql at the repository root is exactly what the code exports."""

from pathlib import Path

from schema.root import build_schema

SCHEMA_FILE = Path(__file__).parent.parent / "schema.graphql"


def test_schema_graphql_is_up_to_date() -> None:
    exported = str(build_schema()) + "\n"

    assert SCHEMA_FILE.read_text() == exported, "schema.graphql is stale: run `make schema`"
