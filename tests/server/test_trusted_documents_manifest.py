"""The trusted documents manifest is checked whole at startup: a manifest the API cannot serve
stops it with one line naming the problem, before any server starts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from resolvers.persisted_queries import document_hash
from schema.trusted_documents import TrustedDocumentsError
from server import create_app
from server.app import build_api_schema, trusted_documents_of
from settings import Settings
from tests.support import run_server_command

PRODUCT_NAMES = "query ProductNames { products(first: 10) { edges { node { name } } } }"
SCHEMA = "query Schema { __schema { queryType { name } } }"
DEEP = "query Deep { products { edges { node { category { name } } } } }"


def operation(body: str, **fields: Any) -> dict[str, Any]:
    return {"id": document_hash(body), "body": body, "name": None, "type": "query", **fields}


def manifest(*operations: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": list(operations),
        **fields,
    }


def write(tmp_path: Path, content: object) -> Path:
    path = tmp_path / "manifest.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def settings_with(path: Path, **fields: Any) -> Settings:
    return Settings(_env_file=None, trusted_documents_manifest=path, **fields)  # type: ignore[call-arg]


def load(settings: Settings) -> Any:
    return trusted_documents_of(settings, build_api_schema(settings))


def test_a_valid_manifest_is_loaded(tmp_path: Path) -> None:
    path = write(tmp_path, manifest(operation(PRODUCT_NAMES), operation(SCHEMA)))

    trusted = load(settings_with(path, trusted_documents_only=True))

    assert trusted.get(document_hash(PRODUCT_NAMES)) == PRODUCT_NAMES
    assert len(trusted.documents) == 2
    assert trusted.only


def test_without_a_manifest_there_are_no_trusted_documents() -> None:
    trusted = load(Settings(_env_file=None))  # type: ignore[call-arg]

    assert (dict(trusted.documents), trusted.only) == ({}, False)


@pytest.mark.parametrize(
    ("content", "settings", "problem"),
    [
        ("{not json", {}, "Invalid JSON"),
        (manifest(format="relay"), {}, "format: Input should be 'apollo-persisted-query-manifest'"),
        (manifest(version=2), {}, "version: Input should be 1"),
        (
            manifest(operation(PRODUCT_NAMES), {"id": document_hash("{ a }")}),
            {},
            "operations.1.body: Field required",
        ),
        (
            manifest(operation(PRODUCT_NAMES, id=document_hash(SCHEMA), name="ProductNames")),
            {},
            f"operation 1 (ProductNames): id {document_hash(SCHEMA)} is not the SHA-256 of its "
            "body",
        ),
        (
            manifest(operation(SCHEMA), operation(PRODUCT_NAMES), operation(PRODUCT_NAMES)),
            {},
            f"operation 3: id {document_hash(PRODUCT_NAMES)} appears twice",
        ),
        (
            manifest(operation("query Broken { products {")),
            {},
            "operation 1: Syntax Error: Expected Name, found <EOF>.",
        ),
        (
            manifest(operation("query Old { products { edges { node { title } } } }")),
            {},
            "operation 1: Cannot query field 'title' on type 'Product'.",
        ),
        (
            manifest(operation(SCHEMA)),
            {"introspection": False},
            "operation 1: GraphQL introspection has been disabled, but the requested query "
            "contained the field '__schema'.",
        ),
        (
            manifest(operation(DEEP)),
            {"max_query_depth": 3},
            "operation 1: 'Deep' exceeds maximum operation depth of 3",
        ),
    ],
)
def test_a_manifest_the_api_cannot_serve_stops_it_with_one_line(
    tmp_path: Path, content: object, settings: dict[str, Any], problem: str
) -> None:
    path = write(tmp_path, content)

    with pytest.raises(TrustedDocumentsError) as refused:
        load(settings_with(path, **settings))

    message = str(refused.value)
    assert message.startswith(f"TRUSTED_DOCUMENTS_MANIFEST {path}: "), message
    assert problem in message
    assert "\n" not in message


def test_a_missing_manifest_is_named(tmp_path: Path) -> None:
    path = tmp_path / "missing.json"

    with pytest.raises(TrustedDocumentsError, match="cannot read it: No such file"):
        create_app(settings_with(path, data_dir=tmp_path))


def test_the_command_line_refuses_to_serve_before_starting_any_server(tmp_path: Path) -> None:
    path = write(tmp_path, manifest(operation(PRODUCT_NAMES, id="0" * 64, name="ProductNames")))
    data_dir = tmp_path / "data"

    result = run_server_command(
        tmp_path, "serve", DATA_DIR=str(data_dir), TRUSTED_DOCUMENTS_MANIFEST=str(path)
    )

    assert result.returncode == 2
    assert (
        f"Invalid trusted documents: TRUSTED_DOCUMENTS_MANIFEST {path}: operation 1 "
        f"(ProductNames): id {'0' * 64} is not the SHA-256 of its body"
    ) in result.stderr.splitlines()
    assert "Traceback" not in result.stderr
    assert not data_dir.exists()
