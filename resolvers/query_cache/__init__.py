"""The Redis query cache: what results depend on (`tags`), what they are keyed by (`keys`), how an
entry is kept and read (`entries`), the cache itself (`cache`) and when a process may serve its
entries (`lease`). Cache keys and invalidation live only here."""

from resolvers.query_cache.cache import CacheStatus, Lookup, QueryCache
from resolvers.query_cache.entries import EntryRead, Outcome, StoredAnswer
from resolvers.query_cache.keys import (
    ANONYMOUS_AUDIENCE,
    cache_key,
    digest_cache_key,
    document_digest,
)
from resolvers.query_cache.tags import (
    CATALOG_TAG,
    SEARCH_TAG,
    CacheDependencies,
    category_tags,
    product_tags,
    review_tags,
)

__all__ = [
    "ANONYMOUS_AUDIENCE",
    "CATALOG_TAG",
    "SEARCH_TAG",
    "CacheDependencies",
    "CacheStatus",
    "EntryRead",
    "Lookup",
    "Outcome",
    "QueryCache",
    "StoredAnswer",
    "cache_key",
    "category_tags",
    "digest_cache_key",
    "document_digest",
    "product_tags",
    "review_tags",
]
