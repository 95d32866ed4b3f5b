"""Resolves a request's `extensions.persistedQuery` (Apollo's APQ protocol) to the document it names.

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
    PersistedQueryNotFoundError,
    PersistedQueryNotSupportedError,
    document_hash,
    is_sha256_hex,
)

HASH_MISMATCH_MESSAGE = "provided sha does not match query"


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


async def resolve_persisted_query(
    store: PersistedQueries, request_data: GraphQLRequestData
) -> ResolvedRequest:
    """The request with its document: stored (hash only), or checked against its hash.

    Raises PersistedQueryNotFoundError / PersistedQueryNotSupportedError (GraphQL errors the
    client reacts to) and HTTPException(400) for a malformed extension or a hash mismatch.
    """
    persisted = _persisted_query(request_data.extensions)
    if persisted is None:
        return ResolvedRequest(request_data)
    if persisted.get("version") != SUPPORTED_VERSION:
        raise PersistedQueryNotSupportedError()
    sha256_hash = persisted.get("sha256Hash")
    if not is_sha256_hex(sha256_hash):
        raise HTTPException(400, "persistedQuery.sha256Hash must be 64 lowercase hex digits")
    assert isinstance(sha256_hash, str)
    if request_data.query is None:
        document = await store.lookup(sha256_hash)
        if document is None:
            raise PersistedQueryNotFoundError()
        return ResolvedRequest(dataclasses.replace(request_data, query=document))
    if document_hash(request_data.query) != sha256_hash:
        raise HTTPException(400, HASH_MISMATCH_MESSAGE)
    return ResolvedRequest(request_data, register_as=sha256_hash)
