"""Trusted documents: the operations of an Apollo persisted-query manifest, loaded at startup.

Clients name them by id (`documentId`, or APQ's `sha256Hash`); with TRUSTED_DOCUMENTS_ONLY,
nothing else runs. The manifest is checked whole before the server starts: a wrong id, a
duplicate or a document the API would refuse stops it with one line naming the operation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ValidationError

from resolvers.persisted_queries import document_hash
from schema.root import CommerceSchema


class TrustedDocumentsError(ValueError):
    """A manifest the server cannot start with; the message is one line."""


class _Operation(BaseModel):
    # Its `type` and any other field are not needed: the body says what it is.
    id: str
    body: str
    name: str | None = None


class _Manifest(BaseModel):
    format: Literal["apollo-persisted-query-manifest"]
    version: Literal[1]
    operations: list[_Operation]


@dataclasses.dataclass(frozen=True)
class TrustedDocuments:
    """Documents by the SHA-256 of their text; `only`: no other document runs."""

    documents: Mapping[str, str] = dataclasses.field(default_factory=dict)
    only: bool = False

    def get(self, sha256_hash: str) -> str | None:
        return self.documents.get(sha256_hash)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _read(path: Path) -> _Manifest:
    try:
        text = path.read_bytes()
    except OSError as error:
        raise TrustedDocumentsError(f"cannot read it: {error.strerror}") from None
    try:
        return _Manifest.model_validate_json(text)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        message = f"{where}: {first['msg']}" if where else first["msg"]
        raise TrustedDocumentsError(_one_line(message)) from None


def _problem(operation: _Operation, schema: CommerceSchema, known: Mapping[str, str]) -> str | None:
    if operation.id in known:
        return f"id {operation.id} appears twice"
    if document_hash(operation.body) != operation.id:
        return f"id {operation.id} is not the SHA-256 of its body"
    errors = schema.document_errors(operation.body)
    return _one_line(errors[0].message) if errors else None


def load_trusted_documents(path: Path, schema: CommerceSchema, *, only: bool) -> TrustedDocuments:
    """The manifest at `path`, every operation checked: its id is the SHA-256 of its body (what
    Apollo's generator writes by default), no id appears twice, and the API would run its
    body (it parses, validates and is within the limits). Raises TrustedDocumentsError."""
    try:
        manifest = _read(path)
        documents: dict[str, str] = {}
        for number, operation in enumerate(manifest.operations, start=1):
            problem = _problem(operation, schema, documents)
            if problem is not None:
                name = f" ({operation.name})" if operation.name else ""
                raise TrustedDocumentsError(f"operation {number}{name}: {problem}")
            documents[operation.id] = operation.body
    except TrustedDocumentsError as error:
        raise TrustedDocumentsError(f"TRUSTED_DOCUMENTS_MANIFEST {path}: {error}") from None
    return TrustedDocuments(documents, only=only)
