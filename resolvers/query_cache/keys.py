"""What a cached result is keyed by: the normalized document, operation name, variables and
audience (anonymous callers, signed-in users and admins each share entries among themselves)."""

from __future__ import annotations

import functools
import hashlib
from typing import Any

import orjson
from graphql import parse, print_ast

ANONYMOUS_AUDIENCE = "anonymous"


@functools.lru_cache(maxsize=2048)
def document_digest(query: str) -> str:
    """What the cache keys a document by: its normalized form (whitespace, commas and comments do
    not matter), hashed. Raises GraphQLError for a document that does not parse."""
    return hashlib.sha256(print_ast(parse(query, no_location=True)).encode()).hexdigest()


def cache_key(
    query: str, operation_name: str | None, variables: dict[str, Any] | None, audience: str
) -> str:
    """The same operation spelled with other whitespace, comments or variable order shares a key."""
    return digest_cache_key(document_digest(query), operation_name, variables, audience)


def digest_cache_key(
    digest: str, operation_name: str | None, variables: dict[str, Any] | None, audience: str
) -> str:
    """`cache_key` of a document known by its `document_digest`. Raises TypeError for variables
    JSON cannot key on (integers past 64 bits, absurd nesting)."""
    material = orjson.dumps(
        [digest, operation_name, variables or {}, audience], option=orjson.OPT_SORT_KEYS
    )
    return hashlib.sha256(material).hexdigest()
