"""The Redis query cache: what results depend on (`tags`), the cache itself (`cache`) and when a
process may serve its entries (`lease`). Cache keys and invalidation live only here."""

from resolvers.query_cache.cache import (
    ANONYMOUS_AUDIENCE,
    CacheStatus,
    Lookup,
    QueryCache,
    cache_key,
)
from resolvers.query_cache.tags import (
    CATALOG_TAG,
    CacheDependencies,
    category_tags,
    product_tags,
    review_tags,
)

__all__ = [
    "ANONYMOUS_AUDIENCE",
    "CATALOG_TAG",
    "CacheDependencies",
    "CacheStatus",
    "Lookup",
    "QueryCache",
    "cache_key",
    "category_tags",
    "product_tags",
    "review_tags",
]
