"""Resolves a request's `extensions.persistedQuery` (Apollo's APQ protocol) to the document it names.

A `documentId` (the GraphQL-over-HTTP persisted documents proposal) is read as the hash-only APQ
request it is, so both name trusted documents (schema/trusted_documents.py) and stored ones alike.
The resolved document replaces the request's `query`, so everything after (operationName rules,
limits, query cost, the query cache keyed by the document, GET refusing mutations) applies to it
as to a document sent in full.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from cross_web import HTTPException
from strawberry.http import GraphQLRequestData

from resolvers.persisted_queries import (
    SUPPORTED_VERSION,
    PersistedQueries,
    PersistedQueryIdRequiredError,
    PersistedQueryNotFoundError,
    PersistedQueryNotInListError,
    PersistedQueryNotSupportedError,
    document_hash,
    is_sha256_hex,
)
from schema.trusted_documents import TrustedDocuments

HASH_MISMATCH_MESSAGE = "provided sha does not match query"
DOCUMENT_ID_FORMS = (
    "sha256:<64 lowercase hex digits>, or the 64 digits alone as in Apollo's manifest"
)


@dataclasses.dataclass(frozen=True)
class ResolvedRequest:
    request_data: GraphQLRequestData
    # The hash to store the document under once it parsed and validated, if it is a registration.
    register_as: str | None = None


def _persisted_query(extensions: dict[str, Any] | None) -> dict[str, Any] | None:
    if not extensions or "persistedQuery" not in extensions:
        return None
    persisted = extensions["persistedQuery"]
    if not isinstance(persisted, dict):
        raise HTTPException(400, "extensions.persistedQuery must be an object")
    return persisted


def _sha256_of_document_id(document_id: object) -> str:
    if not isinstance(document_id, str):
        raise HTTPException(400, f"documentId must be a string: {DOCUMENT_ID_FORMS}")
    prefix, colon, payload = document_id.partition(":")
    if not colon:
        prefix, payload = "sha256", document_id
    if prefix != "sha256":
        raise HTTPException(
            400, f"documentId prefix {prefix!r} is not supported: use {DOCUMENT_ID_FORMS}"
        )
    if not is_sha256_hex(payload):
        raise HTTPException(400, f"documentId must be {DOCUMENT_ID_FORMS}")
    return payload


def lift_document_id(params: dict[str, Any]) -> dict[str, Any]:
    """A request's parameters (a JSON body's, or a GET's), a `documentId` turned into the
    hash-only `persistedQuery` extension naming the same document. A documentId request carries
    no document and no other id: with `query` or a `persistedQuery` it is HTTP 400, as is an
    id that is not a SHA-256 (nothing else could name a trusted document)."""
    document_id = params.get("documentId")
    extensions = params.get("extensions")
    if document_id is None or not isinstance(extensions, dict | None):
        return params  # nothing to lift; or Strawberry refuses the extensions
    if params.get("query") is not None:
        raise HTTPException(400, "Send either documentId or query, not both")
    if extensions and "persistedQuery" in extensions:
        raise HTTPException(400, "Send either documentId or extensions.persistedQuery, not both")
    persisted = {"version": SUPPORTED_VERSION, "sha256Hash": _sha256_of_document_id(document_id)}
    return {**params, "extensions": {**(extensions or {}), "persistedQuery": persisted}}


async def resolve_persisted_query(
    store: PersistedQueries, trusted: TrustedDocuments, request_data: GraphQLRequestData
) -> ResolvedRequest:
    """The request with its document: a trusted one or, unless only those run, a stored one
    (hash only); or its own, checked against its hash.

    Raises PersistedQueryNotFoundError / PersistedQueryNotSupportedError (GraphQL errors the
    client reacts to), PersistedQueryIdRequiredError / PersistedQueryNotInListError where only
    trusted documents run, and HTTPException(400) for a malformed extension or a hash mismatch.
    """
    persisted = _persisted_query(request_data.extensions)
    if persisted is None:
        if trusted.only:
            raise PersistedQueryIdRequiredError()
        return ResolvedRequest(request_data)
    if persisted.get("version") != SUPPORTED_VERSION:
        raise PersistedQueryNotSupportedError()
    sha256_hash = persisted.get("sha256Hash")
    if not is_sha256_hex(sha256_hash):
        raise HTTPException(400, "persistedQuery.sha256Hash must be 64 lowercase hex digits")
    assert isinstance(sha256_hash, str)
    if request_data.query is None:
        document = trusted.get(sha256_hash)
        if document is None and trusted.only:
            raise PersistedQueryNotInListError(sha256_hash)
        document = document or await store.lookup(sha256_hash)
        if document is None:
            raise PersistedQueryNotFoundError()
        return ResolvedRequest(dataclasses.replace(request_data, query=document))
    if trusted.only:
        raise PersistedQueryIdRequiredError()  # a registration: the manifest is the only list
    if document_hash(request_data.query) != sha256_hash:
        raise HTTPException(400, HASH_MISMATCH_MESSAGE)
    registers = trusted.get(sha256_hash) is None  # a trusted document needs no storing
    return ResolvedRequest(request_data, register_as=sha256_hash if registers else None)
