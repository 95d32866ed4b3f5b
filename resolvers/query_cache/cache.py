"""Redis cache of public query results: lookups, stores, invalidation and the circuit breaker.

An entry is one query's answer (`entries.py`: its bytes as the HTTP layer sends them), keyed by
the normalized document, operation name, variables and audience (`keys.py`), and stored with the
current version of each tag its result depends on (`tags.py`); a write gives each tag it affects a new version, so every entry that read the old data no longer
matches and misses on its next lookup, while entries that depend on other tags keep hitting.
Versions are random and an entry never stores a missing one, so a tag that expires or is evicted
makes its entries miss; it never makes an old entry match again.

A global epoch counter closes the race between a read and a write: an entry computed while any
invalidation happened is not stored. Redis is never the source of truth: when it fails, queries run
against MongoDB and the cache stays off for `retry_after` seconds instead of timing out on each one.
An invalidation Redis did not take stops every process from serving cached entries until it has
been applied (`lease.py`), and each client may create only so many entries a minute.
"""

from __future__ import annotations

import enum
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from beanie import PydanticObjectId
from bson import ObjectId
from pymongo.errors import PyMongoError
from redis.exceptions import NoScriptError

from documents.cache_invalidations import forget_invalidations, record_invalidation
from documents.catalog import Category, Product
from documents.reviews import ReviewChange
from documents.transactions import after_commit, current_session
from resolvers.client_share import ClientShare
from resolvers.cost_draw import BucketCharge
from resolvers.query_cache.entries import (
    READ_ENTRY,
    SEPARATOR,
    EntryRead,
    Outcome,
    StoredAnswer,
)
from resolvers.query_cache.lease import ServingLease
from resolvers.query_cache.tags import (
    CATALOG_TAG,
    CacheDependencies,
    category_tags,
    product_tags,
    review_tags,
    user_tags,
)
from resolvers.redis_breaker import RedisBreaker
from resolvers.redis_clients import REDIS_FAILURES, RedisClient, slot_prefix

logger = logging.getLogger(__name__)

TIMEOUTS_BEFORE_BREAKING = 3
# Entries whose tags each process remembers, to name their keys to `READ_ENTRY` (about 1 KB each).
KNOWN_ENTRY_TAGS = 4096


class CacheStatus(enum.StrEnum):
    """Reported to clients in `extensions.cache`."""

    HIT = "HIT"
    MISS = "MISS"
    # Not a cacheable query, a response with errors, caching is off, or the client has created
    # its share of entries for now.
    BYPASS = "BYPASS"
    # Redis failed, or an invalidation is still to be applied to it; served from MongoDB.
    UNAVAILABLE = "UNAVAILABLE"


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def _new_epoch() -> int:
    # Where the epoch starts when Redis has none (new, flushed, evicted): random, so an epoch a
    # lookup read before it was lost is not met again by chance.
    return secrets.randbits(62)


@dataclass(frozen=True)
class Lookup:
    status: CacheStatus
    answer: StoredAnswer | None = None
    epoch: str | None = None

    @property
    def data(self) -> dict[str, Any] | None:
        return None if self.answer is None else self.answer.data


class QueryCache:
    """One per process: owns the Redis keys of the query cache and the circuit breaker."""

    def __init__(
        self,
        redis: RedisClient,
        *,
        key_prefix: str,
        ttl_seconds: int,
        enabled: bool = True,
        retry_after_seconds: float = 5.0,
        max_entry_bytes: int = 512 * 1024,
        pending_check_seconds: float = 1.0,
        max_entries_per_client_minute: int = 200,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._redis = redis
        # Entries, tag versions and the epoch are read together by one script and changed
        # together by one transaction: on a Redis Cluster they share a hash tag, and so one slot
        # (README, "Scale-out").
        self._prefix = slot_prefix(f"{key_prefix}qc:", redis)
        self._ttl = ttl_seconds
        self.enabled = enabled
        # A timeout may be only a busy moment: skipping the cache then would add load, so only a
        # run of them opens the breaker; a refused connection is an outage and opens it at once.
        self._breaker = RedisBreaker(
            retry_after_seconds=retry_after_seconds,
            clock=clock,
            timeouts_before_opening=TIMEOUTS_BEFORE_BREAKING,
        )
        self._max_entry_bytes = max_entry_bytes
        self._client_entries = ClientShare(
            redis,
            key_prefix=f"{key_prefix}qc:client:",  # counted apart: any slot will do
            per_minute=max_entries_per_client_minute,
            what="query cache entries",
        )
        self._lease = ServingLease(
            self._apply, check_interval_seconds=pending_check_seconds, clock=clock
        )
        self._read_entry = redis.register_script(READ_ENTRY)
        # What each entry read or stored lately depends on: its tags as stored, and their keys.
        self._entry_tags: OrderedDict[str, tuple[str, list[str]]] = OrderedDict()
        self._listeners: list[Callable[[set[str]], None]] = []

    def on_invalidation(self, listener: Callable[[set[str]], None]) -> None:
        """Tell `listener` the tags of every invalidation of this process's writes, once each
        write is durable and before Redis is told (a cache kept in the process forgets first)."""
        self._listeners.append(listener)

    def _entry_key(self, key: str) -> str:
        return f"{self._prefix}entry:{key}"

    def _tag_key(self, tag: str) -> str:
        return f"{self._prefix}tag:{tag}"

    @property
    def _epoch_key(self) -> str:
        return f"{self._prefix}epoch"

    @property
    def redis(self) -> RedisClient:
        return self._redis

    @property
    def available(self) -> bool:
        """False while the breaker keeps requests away from a failing Redis."""
        return self._breaker.closed

    def _succeeded(self) -> None:
        self._breaker.succeeded()

    def _failed(self, operation: str, error: Exception) -> None:
        if not self._breaker.failed(error):
            logger.warning("query cache %s timed out: %s", operation, error)
            return
        logger.warning(
            "query cache %s failed, serving from MongoDB for %.0fs: %s",
            operation,
            self._breaker.retry_after,
            error,
        )

    async def lookup(self, key: str) -> Lookup:
        """The cached answer for `key` if every tag it depends on still has the stored version."""
        if not self.enabled:
            return Lookup(CacheStatus.BYPASS)
        if not await self.serving():
            return Lookup(CacheStatus.UNAVAILABLE)
        read = await self.answer(key)
        if read is None:
            return Lookup(CacheStatus.UNAVAILABLE)
        epoch = read.epoch
        if epoch is None:
            try:
                epoch = _text(await self._start_epoch())
            except REDIS_FAILURES as error:
                self._failed("lookup", error)
                return Lookup(CacheStatus.UNAVAILABLE)
        if read.outcome is Outcome.MISS or read.body is None:
            return Lookup(CacheStatus.MISS, epoch=epoch)
        return Lookup(CacheStatus.HIT, answer=StoredAnswer(read.body, etag=read.etag), epoch=epoch)

    async def serving(self) -> bool:
        """Whether entries may be served now: Redis is not failing and the lease holds."""
        return self.available and await self._lease.allows_serving()

    async def answer(
        self, key: str, *, gzip: bool = False, charge: BucketCharge | None = None
    ) -> EntryRead | None:
        """The stored answer for `key` (gzipped if `gzip` and there is a gzipped form), read and
        checked against its tags in one round trip (two when this process has not read it
        lately: see `READ_ENTRY`); with `charge`, its cost is drawn from that
        bucket in the same round trip, and only for a hit. For a caller that has checked
        `serving()`. None when Redis failed."""
        tags, tag_keys = self._entry_tags.get(key) or ("", [])
        try:
            reply = await self._read(key, tags, tag_keys, gzip=gzip, charge=charge)
            if reply[0] == Outcome.TAGS_DIFFER:
                tags, tag_keys = self._learn_tags(key, _text(reply[2]) or "")
                reply = await self._read(key, tags, tag_keys, gzip=gzip, charge=charge)
        except REDIS_FAILURES as error:
            self._failed("lookup", error)
            return None
        self._succeeded()
        if reply[0] == Outcome.TAGS_DIFFER:  # stored again meanwhile, with other tags
            return EntryRead(Outcome.MISS, _text(reply[1]))
        if key in self._entry_tags:
            self._entry_tags.move_to_end(key)
        return EntryRead.parse(reply)

    async def _read(
        self,
        key: str,
        tags: str,
        tag_keys: list[str],
        *,
        gzip: bool,
        charge: BucketCharge | None,
    ) -> list[Any]:
        keys = [self._entry_key(key), self._epoch_key, *tag_keys]
        arguments = [tags, "1" if gzip else "0", str(len(tag_keys))]
        if charge is not None:
            keys.append(charge.key)
            arguments += charge.arguments
        try:
            # EVALSHA itself: redis-py's Script checks on every call whether it runs in a
            # pipeline, an isinstance check that costs a hit measurably.
            reply: list[Any] = await self._redis.evalsha(
                self._read_entry.sha, len(keys), *keys, *arguments
            )
        except NoScriptError:  # a restarted or flushed Redis: Script loads it again
            reply = await self._read_entry(keys=keys, args=arguments)
        return reply

    def _learn_tags(self, key: str, tags: str) -> tuple[str, list[str]]:
        """Remember that the entry under `key` depends on `tags` (as the entry stores them)."""
        learnt = (tags, [self._tag_key(tag) for tag in tags.split(SEPARATOR) if tag])
        self._entry_tags[key] = learnt
        self._entry_tags.move_to_end(key)
        while len(self._entry_tags) > KNOWN_ENTRY_TAGS:
            self._entry_tags.popitem(last=False)
        return learnt

    async def _start_epoch(self) -> bytes | str | None:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.set(self._epoch_key, _new_epoch(), nx=True)
            pipe.get(self._epoch_key)
            results = await pipe.execute()
        epoch: bytes | str | None = results[1]
        return epoch

    async def store(
        self,
        key: str,
        data: dict[str, Any],
        dependencies: CacheDependencies,
        epoch: str | None,
        *,
        client: str,
        answer: StoredAnswer | None = None,
    ) -> CacheStatus:
        """Cache `data` (as `answer`, its bytes as the HTTP layer sends them, when given) unless
        something was invalidated since the lookup that missed, and unless `client` has created
        its share of entries this minute. Returns the status to report: MISS, or BYPASS when the
        client's share is used up."""
        status, _ = await self.store_answer(
            key,
            answer or StoredAnswer(orjson.dumps({"data": data})),
            dependencies,
            epoch,
            client=client,
        )
        return status

    async def store_answer(
        self,
        key: str,
        answer: StoredAnswer,
        dependencies: CacheDependencies,
        epoch: str | None,
        *,
        client: str,
    ) -> tuple[CacheStatus, bool]:
        """`store`, saying also whether the entry was stored."""
        if (
            not (self.enabled and dependencies.cacheable and self.available)
            or dependencies.kept_copies_read
            or epoch is None
        ):
            return CacheStatus.MISS, False
        if answer.size > self._max_entry_bytes:
            logger.info("query result of %d bytes is too large to cache", answer.size)
            return CacheStatus.MISS, False
        try:
            tags = sorted(dependencies.tags)
            versions = await self._current_versions(tags, epoch)
            if versions is None:
                return CacheStatus.MISS, False
            if not await self._client_entries.take(client):
                return CacheStatus.BYPASS, False
            entry_key = self._entry_key(key)
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.delete(entry_key)
                pipe.hset(entry_key, mapping=answer.fields(tags, versions))
                pipe.expire(entry_key, self._ttl)
                await pipe.execute()
            self._learn_tags(key, SEPARATOR.join(tags))
        except REDIS_FAILURES as error:
            self._failed("store", error)
            return CacheStatus.MISS, False
        return CacheStatus.MISS, True

    async def _current_versions(self, tags: list[str], epoch: str) -> list[str] | None:
        """The current version of each tag, to store the entry with; None when an invalidation
        happened since the lookup (the epoch moved), as the result may predate it."""
        keys = [self._epoch_key, *(self._tag_key(tag) for tag in tags)]
        current_epoch, *versions = await self._redis.mget(keys)
        missing = [tag for tag, version in zip(tags, versions, strict=True) if version is None]
        if _text(current_epoch) == epoch and missing:
            # Give each tag without one a version, so that losing it later misses; then read
            # them again (apart: redis-py refuses an MGET in a cluster's pipeline).
            async with self._redis.pipeline(transaction=False) as pipe:
                for tag in missing:
                    pipe.set(self._tag_key(tag), secrets.token_hex(8), ex=self._ttl * 2, nx=True)
                await pipe.execute()
            current_epoch, *versions = await self._redis.mget(keys)
        if _text(current_epoch) != epoch or None in versions:
            return None
        return [str(_text(version)) for version in versions]

    async def _apply(self, tags: set[str], operation: str) -> bool:
        """Give each tag a new version and move the epoch; False when Redis did not take it."""
        version = secrets.token_hex(8)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                for tag in sorted(tags):
                    # Outliving the entries that refer to it, a tag does not make them miss early.
                    pipe.set(self._tag_key(tag), version, ex=self._ttl * 2)
                pipe.set(self._epoch_key, _new_epoch(), nx=True)
                pipe.incr(self._epoch_key)
                await pipe.execute()
        except REDIS_FAILURES as error:
            self._failed(operation, error)
            return False
        return True

    async def _apply_recorded(self, record_id: PydanticObjectId | None, tags: set[str]) -> bool:
        for listener in self._listeners:
            try:
                listener(tags)
            except Exception:  # what Redis must be told counts more than any listener
                logger.exception("query cache: an invalidation listener failed")
        if not await self._apply(tags, "invalidation"):
            # Recorded in MongoDB: every process stops serving entries until it is replayed.
            logger.error("query cache invalidation of %s failed; replayed later", sorted(tags))
            self._lease.revoke()
            return False
        if record_id is not None:
            try:
                await forget_invalidations([record_id])
            except PyMongoError as error:
                # Applied already: replaying it again later only costs some misses.
                logger.warning("query cache: applied invalidation not cleared: %s", error)
        return True

    async def replay_pending(self) -> bool:
        """Apply every recorded invalidation Redis has not taken (a failed attempt, or a process
        that died after its commit); True when none is left. The worker runs it periodically;
        lookups run it when their lease runs out."""
        if not self.available:
            return False
        try:
            return await self._lease.replay()
        except PyMongoError as error:
            logger.warning("query cache: cannot read pending invalidations: %s", error)
            return False

    async def invalidate(self, tags: Iterable[str]) -> bool:
        """Retire every entry that read any of `tags`, for a write already durable (outside a
        transaction): recorded in MongoDB first, so that if Redis does not take it now no
        process serves those entries until it has. False when Redis did not take it now."""
        tag_set = set(tags)
        if not tag_set:
            return True
        record_id = None
        try:
            record_id = await record_invalidation(tag_set)
        except PyMongoError as error:
            # Only this process can notice a failure now; Redis usually takes it anyway.
            logger.error("query cache invalidation of %s not recorded: %s", sorted(tag_set), error)
        return await self._apply_recorded(record_id, tag_set)

    async def invalidate_product(self, *versions: Product) -> bool:
        """Invalidate every cached result a change from `versions[0]` to `versions[-1]` affects."""
        return await self.invalidate(product_tags(*versions))

    async def invalidate_catalog(self) -> bool:
        """Invalidate every cached result: for bulk changes whose reach is not worth working out."""
        return await self.invalidate([CATALOG_TAG])

    async def invalidate_category(self, *versions: Category) -> bool:
        """Invalidate every cached result a category change affects."""
        return await self.invalidate(category_tags(*versions))

    # What writers call. Inside a transaction the invalidation is recorded in it, so the record
    # exists exactly when the change does, and applied once it commits (never after an abort).
    # Outside one the write is already durable: it is recorded and applied at once.

    async def _changed(self, tags: set[str]) -> None:
        session = current_session()
        if session is None:
            await self.invalidate(tags)
            return
        record_id = await record_invalidation(tags, session=session)
        after_commit(lambda: self._apply_recorded(record_id, tags))

    async def product_changed(self, *versions: Product) -> None:
        """`versions` (before and after) changed: retire every entry that shows either."""
        await self._changed(product_tags(*versions))

    async def category_changed(self, *versions: Category) -> None:
        """A category changed (before and after): retire every entry that shows it."""
        await self._changed(category_tags(*versions))

    async def review_changed(self, change: ReviewChange) -> None:
        """A review was written: retire the entries showing it, and its product's ratings if
        the write changed them."""
        if not change.changed:
            return
        before, after = change.before, change.after
        listed = any(version is not None and not version.hidden for version in (before, after))
        review = change.review
        await self._changed(
            review_tags(review.id, review.product_id, listed=listed, rated_product=change.product)
        )

    async def user_changed(self, user_id: ObjectId) -> None:
        """A user's name or email changed: their reviews show the name (and admins the email)."""
        await self._changed(user_tags(user_id))

    async def catalog_changed(self) -> None:
        """A bulk change (import, moves): retire every entry."""
        await self._changed({CATALOG_TAG})
