"""Redis cache of public query results: keys, dependency tags and invalidation, all in one place.

An entry is one query's `data`, keyed by the normalized document, operation name, variables
and audience. While a query runs, the loaders and list resolvers record which tags its result
depends on (`products:id:<id>`, `categories:slug:<slug>`, `products:list:category:<id>` ...). The
entry is stored with the current version of each tag; a write gives each tag it affects a new version,
so every entry that read the old data no longer matches and misses on its next lookup, while entries
that depend on other tags keep hitting.

A global epoch counter closes the race between a read and a write: an entry computed while any
invalidation happened is not stored. Redis is never the source of truth: when it fails, queries run
against MongoDB and the cache stays off for `retry_after` seconds instead of timing out on each one.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from bson import ObjectId
from graphql import parse, print_ast
from redis.asyncio import Redis
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from documents.accounts import User
from documents.catalog import Category, Product
from documents.reviews import Review, ReviewChange
from documents.transactions import run_after_commit

logger = logging.getLogger(__name__)

ANONYMOUS_AUDIENCE = "anonymous"
TIMEOUTS_BEFORE_BREAKING = 3


class CacheStatus(enum.StrEnum):
    """Reported to clients in `extensions.cache`."""

    HIT = "HIT"
    MISS = "MISS"
    BYPASS = "BYPASS"  # not a cacheable query, a response with errors, or caching is off
    UNAVAILABLE = "UNAVAILABLE"  # Redis failed; served from MongoDB


def _tag(collection: str, key_field: str, key: object) -> str:
    return f"{collection}:{key_field}:{key}"


def _product_list_tag(scope_category_id: ObjectId | None) -> str:
    scope = f"category:{scope_category_id}" if scope_category_id else "all"
    return f"{Product.get_collection_name()}:list:{scope}"


def _rated_list_tag(scope_category_id: ObjectId | None) -> str:
    return _product_list_tag(scope_category_id).replace(":list:", ":rated-list:")


# Every entry depends on this tag too, so bulk changes (imports, category moves) can retire them all.
CATALOG_TAG = "catalog"


@dataclass
class CacheDependencies:
    """What one request's result was read from. Passed to loaders as their `ReadObserver`."""

    tags: set[str] = field(default_factory=lambda: {CATALOG_TAG})
    cacheable: bool = True

    def __call__(self, collection: str, key_field: str, key: object) -> None:
        self.tags.add(_tag(collection, key_field, key))

    def product_list(self, scope_category_id: ObjectId | None) -> None:
        """A product list over the whole catalog or one (sub)category was read."""
        self.tags.add(_product_list_tag(scope_category_id))

    def product_ratings(self, product_id: ObjectId | None) -> None:
        """A product's rating aggregates were shown."""
        self.tags.add(_tag(Product.get_collection_name(), "ratings", product_id))

    def product_reviews(self, product_id: ObjectId | None) -> None:
        """A page of a product's visible reviews was read."""
        self.tags.add(_tag(Review.get_collection_name(), "product_id", product_id))

    def rated_product_list(self, scope_category_id: ObjectId | None) -> None:
        """A product list sorted or filtered by rating was read: any rating in it may reorder it."""
        self.tags.add(_rated_list_tag(scope_category_id))

    def private_data(self) -> None:
        """Something user-specific was read: the result must never be shared."""
        self.cacheable = False


def product_tags(*versions: Product) -> set[str]:
    """Tags to invalidate when a product changes; pass the product before and after the write."""
    collection = Product.get_collection_name()
    tags = {_product_list_tag(None)}
    for product in versions:
        tags |= {
            _tag(collection, "id", product.id),
            _tag(collection, "slug", product.slug),
            _product_list_tag(product.category_id),
        }
        if product.subcategory_id:
            tags.add(_product_list_tag(product.subcategory_id))
    return tags


def review_tags(
    review_id: ObjectId | None,
    product_id: ObjectId | None,
    *,
    listed: bool,
    rated_product: Product | None,
) -> set[str]:
    """Tags to invalidate when a review of `product_id` changes: the review itself; its product's
    page of reviews when the review is or was `listed` (visible); and with `rated_product` (the
    product as the write left it, when the write changed its ratings) every entry showing those
    ratings or ordered by them."""
    reviews = Review.get_collection_name()
    tags = {_tag(reviews, "id", review_id)}
    if listed:
        tags.add(_tag(reviews, "product_id", product_id))
    if rated_product is not None:
        tags.add(_tag(Product.get_collection_name(), "ratings", rated_product.id))
        scopes = {None, rated_product.category_id, rated_product.subcategory_id}
        tags |= {_rated_list_tag(scope) for scope in scopes}
    return tags


def category_tags(*versions: Category) -> set[str]:
    """Tags to invalidate when a category changes; pass it before and after the write."""
    collection = Category.get_collection_name()
    tags: set[str] = set()
    for category in versions:
        tags |= {
            _tag(collection, "id", category.id),
            _tag(collection, "slug", category.slug),
            _tag(collection, "parent_id", category.parent_id),
        }
    return tags


@functools.lru_cache(maxsize=2048)
def _normalized_document(query: str) -> str:
    return print_ast(parse(query, no_location=True))


def cache_key(
    query: str, operation_name: str | None, variables: dict[str, Any] | None, audience: str
) -> str:
    """The same operation spelled with other whitespace, comments or variable order shares a key."""
    material = orjson.dumps(
        [_normalized_document(query), operation_name, variables or {}, audience],
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(material).hexdigest()


def _is_timeout(error: BaseException) -> bool:
    """A timeout, whichever layer reports it: the socket, or the wait for a pooled connection."""
    timeouts = (RedisTimeoutError, TimeoutError)
    return isinstance(error, timeouts) or isinstance(error.__cause__, timeouts)


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


@dataclass(frozen=True)
class Lookup:
    status: CacheStatus
    data: dict[str, Any] | None = None
    epoch: str | None = None


class QueryCache:
    """One per process: owns the Redis keys of the query cache and the circuit breaker."""

    def __init__(
        self,
        redis: Redis,
        *,
        key_prefix: str,
        ttl_seconds: int,
        enabled: bool = True,
        retry_after_seconds: float = 5.0,
        max_entry_bytes: int = 512 * 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._redis = redis
        self._prefix = f"{key_prefix}qc:"
        self._ttl = ttl_seconds
        self.enabled = enabled
        self._retry_after = retry_after_seconds
        self._max_entry_bytes = max_entry_bytes
        self._clock = clock
        self._unavailable_until = 0.0
        self._consecutive_timeouts = 0

    def _entry_key(self, key: str) -> str:
        return f"{self._prefix}entry:{key}"

    def _tag_key(self, tag: str) -> str:
        return f"{self._prefix}tag:{tag}"

    @property
    def _epoch_key(self) -> str:
        return f"{self._prefix}epoch"

    @property
    def available(self) -> bool:
        """False while the breaker keeps requests away from a failing Redis."""
        return self._clock() >= self._unavailable_until

    def _succeeded(self) -> None:
        self._consecutive_timeouts = 0

    def _failed(self, operation: str, error: Exception) -> None:
        # A refused connection is an outage. A timeout may be only a busy moment: skipping the
        # cache then would add load, so only a run of them opens the breaker.
        if _is_timeout(error):
            self._consecutive_timeouts += 1
            if self._consecutive_timeouts < TIMEOUTS_BEFORE_BREAKING:
                logger.warning("query cache %s timed out: %s", operation, error)
                return
        self._consecutive_timeouts = 0
        self._unavailable_until = self._clock() + self._retry_after
        logger.warning(
            "query cache %s failed, serving from MongoDB for %.0fs: %s",
            operation,
            self._retry_after,
            error,
        )

    async def lookup(self, key: str) -> Lookup:
        """The cached data for `key` if every tag it depends on still has the stored version."""
        if not self.enabled:
            return Lookup(CacheStatus.BYPASS)
        if not self.available:
            return Lookup(CacheStatus.UNAVAILABLE)
        try:
            raw_entry, epoch = await self._redis.mget([self._entry_key(key), self._epoch_key])
            self._succeeded()
            if raw_entry is None:
                return Lookup(CacheStatus.MISS, epoch=_text(epoch))
            entry = orjson.loads(raw_entry)
            tags: dict[str, str | None] = entry["tags"]
            if tags:
                current = await self._redis.mget([self._tag_key(tag) for tag in tags])
                if [_text(version) for version in current] != list(tags.values()):
                    return Lookup(CacheStatus.MISS, epoch=_text(epoch))
        except (RedisError, OSError) as error:
            self._failed("lookup", error)
            return Lookup(CacheStatus.UNAVAILABLE)
        return Lookup(CacheStatus.HIT, data=entry["data"])

    async def store(
        self, key: str, data: dict[str, Any], dependencies: CacheDependencies, epoch: str | None
    ) -> None:
        """Cache `data` unless something was invalidated since the lookup that missed."""
        if not (self.enabled and dependencies.cacheable and self.available):
            return
        tags = sorted(dependencies.tags)
        try:
            current_epoch, *versions = await self._redis.mget(
                [self._epoch_key, *(self._tag_key(tag) for tag in tags)]
            )
            if _text(current_epoch) != epoch:
                return
            entry = {
                "tags": {tag: _text(v) for tag, v in zip(tags, versions, strict=True)},
                "data": data,
            }
            payload = orjson.dumps(entry)
            if len(payload) > self._max_entry_bytes:
                logger.info("query result of %d bytes is too large to cache", len(payload))
                return
            await self._redis.set(self._entry_key(key), payload, ex=self._ttl)
        except (RedisError, OSError) as error:
            self._failed("store", error)

    async def invalidate(self, tags: Iterable[str]) -> bool:
        """Give each tag a new version. False when Redis failed: entries then live out their TTL."""
        tag_list = sorted(set(tags))
        if not tag_list:
            return True
        version = secrets.token_hex(8)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                for tag in tag_list:
                    # Tags outlive every entry that can refer to them; see the module docstring.
                    pipe.set(self._tag_key(tag), version, ex=self._ttl * 2)
                pipe.incr(self._epoch_key)
                await pipe.execute()
        except (RedisError, OSError) as error:
            logger.error("query cache invalidation of %s failed: %s", tag_list, error)
            return False
        return True

    async def invalidate_product(self, *versions: Product) -> bool:
        """Invalidate every cached result a change from `versions[0]` to `versions[-1]` affects."""
        return await self.invalidate(product_tags(*versions))

    async def invalidate_catalog(self) -> bool:
        """Invalidate every cached result: for bulk changes whose reach is not worth working out."""
        return await self.invalidate([CATALOG_TAG])

    async def invalidate_category(self, *versions: Category) -> bool:
        """Invalidate every cached result a category change affects."""
        return await self.invalidate(category_tags(*versions))

    # What writers call: the invalidation waits for the transaction under way to commit (it never
    # runs inside one, nor after an abort); outside a transaction the write is already durable
    # and it runs at once.

    async def product_changed(self, *versions: Product) -> None:
        """`versions` (before and after) changed: retire every entry that shows either."""
        tags = product_tags(*versions)
        await run_after_commit(lambda: self.invalidate(tags))

    async def category_changed(self, *versions: Category) -> None:
        """A category changed (before and after): retire every entry that shows it."""
        tags = category_tags(*versions)
        await run_after_commit(lambda: self.invalidate(tags))

    async def review_changed(self, change: ReviewChange) -> None:
        """A review was written: retire the entries showing it, and its product's ratings if
        the write changed them."""
        if not change.changed:
            return
        before, after = change.before, change.after
        listed = any(version is not None and not version.hidden for version in (before, after))
        review = change.review
        tags = review_tags(
            review.id, review.product_id, listed=listed, rated_product=change.product
        )
        await run_after_commit(lambda: self.invalidate(tags))

    async def user_changed(self, user_id: ObjectId) -> None:
        """A user's name or email changed: their reviews show the name (and admins the email)."""
        tags = {_tag(User.get_collection_name(), "id", user_id)}
        await run_after_commit(lambda: self.invalidate(tags))

    async def catalog_changed(self) -> None:
        """A bulk change (import, moves): retire every entry."""
        await run_after_commit(self.invalidate_catalog)
