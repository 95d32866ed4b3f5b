"""Automatic persisted queries (Apollo's APQ protocol): GraphQL documents stored under their SHA-256.

A client sends only the hash; when the API does not know it, the client sends the document with
its hash once and the API stores it. The store is a cache, not the source of truth: entries live
in the cache Redis with a TTL (refreshed on use) and in a small in-process LRU. A lost entry (an
eviction, a Redis restart, Redis down) only makes the client register the document again.

Registering costs nothing but memory (`{ __typename }` plus a comment is a new document each
time), so it is bounded: each document by its size, each client by a share of registrations a
minute. Past either, the document runs but is not stored, and the client keeps sending it in
full, as the protocol allows.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable

from documents.errors import DomainError
from resolvers.client_share import ClientShare
from resolvers.redis_breaker import RedisBreaker
from resolvers.redis_clients import REDIS_FAILURES, RedisClient

logger = logging.getLogger(__name__)

SUPPORTED_VERSION = 1
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class PersistedQueryCode(enum.StrEnum):
    # The exact codes and messages Apollo Client's persisted-queries link reacts to.
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
    PERSISTED_QUERY_NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"
    # Trusted documents only (Apollo Router's codes for its safelist): a request without an id,
    # and an id the manifest does not have.
    PERSISTED_QUERY_ID_REQUIRED = "PERSISTED_QUERY_ID_REQUIRED"
    PERSISTED_QUERY_NOT_IN_LIST = "PERSISTED_QUERY_NOT_IN_LIST"


class PersistedQueryNotFoundError(DomainError):
    """The hash names no stored document: the client should send the document with its hash."""

    def __init__(self) -> None:
        super().__init__(PersistedQueryCode.PERSISTED_QUERY_NOT_FOUND, "PersistedQueryNotFound")


class PersistedQueryNotSupportedError(DomainError):
    """A `persistedQuery` extension of a version other than 1."""

    def __init__(self) -> None:
        super().__init__(
            PersistedQueryCode.PERSISTED_QUERY_NOT_SUPPORTED, "PersistedQueryNotSupported"
        )


class PersistedQueryIdRequiredError(DomainError):
    """A document sent as text (or to be registered) where only trusted documents run."""

    def __init__(self) -> None:
        super().__init__(
            PersistedQueryCode.PERSISTED_QUERY_ID_REQUIRED,
            "This API runs only trusted documents: send a document's id (documentId, or "
            "extensions.persistedQuery.sha256Hash) instead of its text",
        )


class PersistedQueryNotInListError(DomainError):
    """An id the trusted documents manifest does not have, where only trusted documents run.
    Its message is not APQ's, so Apollo's link does not retry with the document."""

    def __init__(self, sha256_hash: str) -> None:
        super().__init__(
            PersistedQueryCode.PERSISTED_QUERY_NOT_IN_LIST,
            f"No trusted document has the id sha256:{sha256_hash}",
        )


def is_sha256_hex(value: object) -> bool:
    return isinstance(value, str) and _SHA256_HEX.fullmatch(value) is not None


def document_hash(document: str) -> str:
    """The hash Apollo's clients send: SHA-256 of the document's UTF-8 text, lowercase hex."""
    return hashlib.sha256(document.encode()).hexdigest()


class PersistedQueries:
    """One per process: owns the Redis keys of persisted documents and the in-process LRU."""

    def __init__(
        self,
        redis: RedisClient,
        *,
        key_prefix: str,
        ttl_seconds: int,
        max_document_bytes: int,
        lru_size: int,
        max_registrations_per_client_minute: int = 20,
        retry_after_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._redis = redis
        self._prefix = f"{key_prefix}apq:"
        self._ttl = ttl_seconds
        self._max_document_bytes = max_document_bytes
        self._lru_size = lru_size
        self._lru: OrderedDict[str, str] = OrderedDict()
        self._client_registrations = ClientShare(
            redis,
            key_prefix=f"{key_prefix}apq-client:",  # beside the documents, not among them
            per_minute=max_registrations_per_client_minute,
            what="persisted query registrations",
        )
        self._breaker = RedisBreaker(retry_after_seconds=retry_after_seconds, clock=clock)

    def key(self, sha256_hash: str) -> str:
        return f"{self._prefix}{sha256_hash}"

    async def lookup(self, sha256_hash: str) -> str | None:
        """The document stored under `sha256_hash`, or None (unknown, expired, or Redis down)."""
        document = self._lru.get(sha256_hash)
        if document is not None:
            self._lru.move_to_end(sha256_hash)
            return document
        if not self._redis_available():
            return None
        try:
            # GETEX refreshes the TTL: documents in use stay, forgotten ones expire.
            raw = await self._redis.getex(self.key(sha256_hash), ex=self._ttl)
        except REDIS_FAILURES as error:
            self._failed("lookup", error)
            return None
        if raw is None:
            return None
        document = raw.decode() if isinstance(raw, bytes) else str(raw)
        self._remember(sha256_hash, document)
        return document

    async def register(self, sha256_hash: str, document: str, *, client: str) -> None:
        """Store a document whose hash was checked, registered by `client` (an IP address or
        IPv6 /64). Not stored: a document over the size limit (every byte counts, comments
        too), or one from a client past its share of registrations this minute; the client
        keeps sending it in full. A Redis failure leaves it in the LRU only."""
        size = len(document.encode())
        if size > self._max_document_bytes:
            logger.info("persisted query of %d bytes is too large to store", size)
            return
        if self._redis_available():
            try:
                if not await self._client_registrations.take(client):
                    return
                await self._redis.set(self.key(sha256_hash), document, ex=self._ttl)
            except REDIS_FAILURES as error:
                self._failed("register", error)
        self._remember(sha256_hash, document)

    def remembers(self, sha256_hash: str) -> bool:
        """Whether this process holds the document in memory (`lookup` would not ask Redis)."""
        return sha256_hash in self._lru

    def forget_local(self) -> None:
        """Empty the in-process LRU (what a process restart does)."""
        self._lru.clear()

    def _remember(self, sha256_hash: str, document: str) -> None:
        self._lru[sha256_hash] = document
        self._lru.move_to_end(sha256_hash)
        while len(self._lru) > self._lru_size:
            self._lru.popitem(last=False)

    def _redis_available(self) -> bool:
        return self._breaker.closed

    def _failed(self, operation: str, error: Exception) -> None:
        self._breaker.failed(error)
        logger.warning("persisted queries: Redis %s failed: %s", operation, error)
