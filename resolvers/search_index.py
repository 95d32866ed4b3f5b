"""The search index's follower: keeps the search engine's index of the visible products in step
with MongoDB.

It reads the database's change stream (products, categories, rebuild requests) from the
position the index keeps with its last commit. A product made visible or changed is indexed
again, with its category names; one unpublished, archived or deleted is removed; a renamed
category's products are indexed again. Changes are written in batches and committed at most
every `commit_interval_seconds` (or every MAX_PENDING_CHANGES changes), each commit with the
stream's position; then the query cache retires the cached search answers (SEARCH_TAG): one
run between a write and the commit cached the index's earlier answer.

A rebuild opens the change stream first and keeps its position, then indexes every visible
product and commits with that position, so changes made meanwhile are applied after it: none
is lost. It runs when the index has no position (new, or of another schema version), when the
oplog no longer holds its position, when the products are dropped, and when asked
(`request_rebuild`).

One process writes the index: the worker runs `run(stop)`; `catch_up()` applies what has
changed so far and returns (`worker --once`, tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bson import ObjectId, json_util
from pymongo.asynchronous.change_stream import AsyncChangeStream
from pymongo.errors import OperationFailure

from documents.cache_invalidations import record_invalidation
from documents.catalog import VISIBLE_PRODUCTS, Category, Product
from documents.catalog_rules import description_text
from documents.common import utc_now
from documents.search_index import SearchIndexRebuild
from integrations.search.engine import SearchDocument, SearchEngine
from resolvers.query_cache import SEARCH_TAG, QueryCache

logger = logging.getLogger("commerce.search")

# The product fields the index is built from, and those that decide whether a product shows.
PRODUCT_FIELDS = (
    "_id",
    "name",
    "description",
    "brand",
    "category_id",
    "subcategory_id",
    "final_price",
    "stock",
    "rating_average",
    "created_at",
    "published",
    "archived_at",
)
# Products read from MongoDB, and handed to the engine, at a time (a rebuild, a category).
INDEX_BATCH = 1000
# A rebuild adds the products by category, best rated first (the category listing's index,
# read backwards), so the index keeps a category's products together: a search within one reads
# its postings and columns in runs, and a word's matches (mostly in a few categories) nearby.
REBUILD_ORDER = [("published", -1), ("category_id", -1), ("rating_average", -1), ("_id", -1)]
# Changes held before they are written and committed, however recent the last commit.
MAX_PENDING_CHANGES = 1000
# An idle follower still commits its stream's advancing position this often, so that after a
# restart it resumes from a point the oplog holds, however little the catalog changes.
IDLE_COMMIT_SECONDS = 300.0
# The stream cannot resume from the stored position: gone from the oplog
# (ChangeStreamHistoryLost, ChangeStreamFatalError) or not a position of this server
# (InvalidResumeToken).
RESUME_POINT_LOST = frozenset({260, 280, 286})
# Stream events after which the whole index is built again: the products' or the categories'
# collection dropped or renamed, the database dropped (the stream then ends).
REBUILD_EVENTS = frozenset({"drop", "rename", "dropDatabase", "invalidate"})
# A follower failing again and again (MongoDB down) waits twice as long after each failure.
MAX_FAILURE_PAUSE_SECONDS = 60.0
# How long a catch-up's last read of the stream waits for more: it returns at once when
# MongoDB has nothing more, so this only bounds a wait that never happens.
CATCH_UP_WAIT_MS = 10
# The longest a running follower's read of the stream waits for a change: how late, at most,
# it notices that held changes are due (or that it should stop).
MAX_WAIT_SECONDS = 0.25


def is_visible(product: Mapping[str, Any]) -> bool:
    """`Product.is_visible` of a stored product: it matches VISIBLE_PRODUCTS, not archived."""
    shown = all(product.get(name) == value for name, value in VISIBLE_PRODUCTS.items())
    return shown and product.get("archived_at") is None


def search_document(
    product: Mapping[str, Any], category_names: Mapping[ObjectId, str]
) -> SearchDocument:
    """A stored product (PRODUCT_FIELDS) as the index keeps it."""
    category_id, subcategory_id = product["category_id"], product.get("subcategory_id")
    return SearchDocument(
        id=str(product["_id"]),
        name=product["name"],
        description=description_text(product.get("description") or ""),
        brand=product.get("brand") or "",
        category_id=str(category_id),
        subcategory_id=str(subcategory_id) if subcategory_id else None,
        # In the ids' order; a category since deleted (its products not moved yet) has no name.
        category_names=tuple(
            category_names.get(key, "") for key in (category_id, subcategory_id) if key
        ),
        final_price=int(product.get("final_price") or 0),
        in_stock=int(product.get("stock") or 0) > 0,
        rating_average=float(product.get("rating_average") or 0.0),
        created_at=product["created_at"],
    )


@dataclass
class _Pending:
    """Changes taken from the stream, not yet written: each product's latest stored version
    (None: deleted), and categories whose products to index again."""

    products: dict[ObjectId, Mapping[str, Any] | None] = field(default_factory=dict)
    categories: set[ObjectId] = field(default_factory=set)

    def __len__(self) -> int:
        return len(self.products) + len(self.categories)

    def clear(self) -> None:
        self.products.clear()
        self.categories.clear()


class SearchIndexFollower:
    """Writes `engine`'s index from MongoDB; one per index, in the process that owns it."""

    def __init__(
        self,
        engine: SearchEngine,
        *,
        query_cache: QueryCache | None = None,
        commit_interval_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        # Without one (a command run beside the API), invalidations are recorded in MongoDB and
        # every process applies them before serving cached entries again.
        self._cache = query_cache
        self._interval = commit_interval_seconds
        self._clock = clock
        self._last_commit = clock()
        self._requests: list[ObjectId] = []

    async def catch_up(self) -> None:
        """Apply every change acknowledged before this call (a majority's acknowledgement, the
        default on a replica set) and commit; first rebuild the index if it needs it."""
        await self._follow(None)

    async def run(self, stop: asyncio.Event) -> None:
        """Follow the changes until `stop` is set, committing at most every interval. Failures
        (MongoDB unreachable) are logged and the follower starts again from its last commit."""
        failures = 0
        while not stop.is_set():
            try:
                await self._follow(stop)
                failures = 0
            except Exception as error:
                failures += 1
                pause = min(MAX_FAILURE_PAUSE_SECONDS, self._interval * 2 ** min(failures, 30))
                if failures == 1:
                    logger.exception("search index: following failed; again in %.1fs", pause)
                else:
                    logger.warning("search index: failed again (%d): %s", failures, error)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), pause)

    async def rebuild(self) -> int:
        """Index every visible product anew and commit; how many. Readers see the earlier index
        until the commit; changes made while it runs are applied after it."""
        started = self._clock()
        async with await self._watch(None, CATCH_UP_WAIT_MS) as stream:
            start = stream.resume_token
        assert start is not None, "MongoDB 4.2+ gives a fresh change stream a position"
        await self._engine.clear()
        count = await self._index_products(
            VISIBLE_PRODUCTS, sort=REBUILD_ORDER, hint=[(key, 1) for key, _ in REBUILD_ORDER]
        )
        await self._save_position(start)
        await self._retire({SEARCH_TAG})
        logger.info(
            "search index: rebuilt with %d products in %.1fs", count, self._clock() - started
        )
        return count

    async def _follow(self, stop: asyncio.Event | None) -> None:
        """Apply changes (until `stop`, or until none is left without one), rebuilding when the
        stream says the index needs it."""
        waits = min(self._interval, MAX_WAIT_SECONDS)
        wait_ms = CATCH_UP_WAIT_MS if stop is None else max(1, round(waits * 1000))
        while True:
            if await self._engine.resume_point() is None:
                logger.info("search index: none yet, or of another version; building it")
                await self.rebuild()
            position = await self._engine.resume_point()
            assert position is not None
            try:
                async with await self._watch(json_util.loads(position), wait_ms) as stream:
                    if not await self._drain(stream, stop):
                        return
            except OperationFailure as error:
                if error.code not in RESUME_POINT_LOST:
                    raise
                logger.warning("search index: its stream position is lost (%s); rebuilding", error)
            await self._rebuild_as_asked()

    async def _drain(self, stream: AsyncChangeStream[Any], stop: asyncio.Event | None) -> bool:
        """Take changes from `stream` and commit them; True when the index must be rebuilt.

        Running, it commits what it holds once SEARCH_COMMIT_INTERVAL has passed since its last
        commit (at once, then, for a lone write); catching up, once nothing more is left."""
        pending = _Pending()
        while True:
            if stop is not None and stop.is_set():
                if pending:
                    await self._commit(pending, stream.resume_token)
                return False
            change = await stream.try_next()
            if change is not None and self._take(change, pending):
                return True
            if change is None and stop is None:
                await self._commit(pending, stream.resume_token)
                return False
            since = self._clock() - self._last_commit
            due = bool(pending) and (stop is not None and since >= self._interval)
            quiet = change is None and since >= IDLE_COMMIT_SECONDS
            if due or quiet or len(pending) >= MAX_PENDING_CHANGES:
                await self._commit(pending, stream.resume_token)

    def _take(self, change: Mapping[str, Any], pending: _Pending) -> bool:
        """Note one stream event; True when it calls for a rebuild."""
        operation, collection = change["operationType"], change.get("ns", {}).get("coll")
        if collection == SearchIndexRebuild.get_collection_name():
            if operation == "insert":
                self._requests.append(change["documentKey"]["_id"])
                return True
            return False
        if operation in REBUILD_EVENTS:
            return True
        key = change["documentKey"]["_id"]
        if collection == Product.get_collection_name():
            pending.products[key] = None if operation == "delete" else change.get("fullDocument")
        elif collection == Category.get_collection_name() and operation != "insert":
            # A rename shows in its products' search; other changes of a category do not.
            renamed = "name" in change.get("updateDescription", {}).get("updatedFields", {})
            if operation in ("replace", "delete") or renamed:
                pending.categories.add(key)
        return False

    async def _commit(self, pending: _Pending, position: Mapping[str, Any] | None) -> None:
        assert position is not None
        await self._write(pending)
        await self._save_position(position)
        if pending:
            await self._retire({SEARCH_TAG})
        pending.clear()

    async def _write(self, pending: _Pending) -> None:
        """Hand `pending` to the engine."""
        products = pending.products.items()
        hidden = [
            str(key) for key, product in products if product is None or not is_visible(product)
        ]
        if hidden:
            await self._engine.delete(hidden)
        await self._upsert([product for _, product in products if product and is_visible(product)])
        for category_id in pending.categories:
            owned = [{"category_id": category_id}, {"subcategory_id": category_id}]
            await self._index_products({**VISIBLE_PRODUCTS, "$or": owned})

    async def _save_position(self, position: Mapping[str, Any]) -> None:
        await self._engine.commit(json_util.dumps(position))
        self._last_commit = self._clock()

    async def _retire(self, tags: set[str]) -> None:
        if self._cache is not None:
            await self._cache.invalidate(tags)
        else:
            await record_invalidation(tags)

    async def _rebuild_as_asked(self) -> None:
        asked, self._requests = self._requests, []
        count = await self.rebuild()
        if asked:
            await SearchIndexRebuild.get_pymongo_collection().update_many(
                {"_id": {"$in": asked}, "finished_at": None},
                {"$set": {"finished_at": utc_now(), "products": count}},
            )

    async def _index_products(
        self,
        condition: Mapping[str, Any],
        *,
        sort: list[tuple[str, int]] | None = None,
        hint: list[tuple[str, int]] | None = None,
    ) -> int:
        """Index the products matching `condition` (visible ones only), in batches."""
        projection = dict.fromkeys(PRODUCT_FIELDS, 1)
        cursor = Product.get_pymongo_collection().find(
            condition, projection, sort=sort, batch_size=INDEX_BATCH, hint=hint
        )
        count, batch = 0, []
        async for product in cursor:
            batch.append(product)
            if len(batch) == INDEX_BATCH:
                count += await self._upsert(batch)
                batch = []
        return count + await self._upsert(batch)

    async def _upsert(self, products: list[Mapping[str, Any]]) -> int:
        if not products:
            return 0
        names = await _category_names(
            key
            for product in products
            for key in (product["category_id"], product.get("subcategory_id"))
        )
        await self._engine.upsert([search_document(product, names) for product in products])
        return len(products)

    async def _watch(
        self, resume_after: Mapping[str, Any] | None, wait_ms: int
    ) -> AsyncChangeStream[Any]:
        """The database's change stream of what the index depends on, from `resume_after`."""
        names = [
            Product.get_collection_name(),
            Category.get_collection_name(),
            SearchIndexRebuild.get_collection_name(),
        ]
        fields = {f"fullDocument.{name}": 1 for name in PRODUCT_FIELDS}
        pipeline: list[dict[str, Any]] = [
            {"$match": {"$or": [{"ns.coll": {"$in": names}}, {"operationType": "dropDatabase"}]}},
            # Only what the index needs of each product: not its images or histogram.
            {
                "$project": {
                    "operationType": 1,
                    "ns": 1,
                    "documentKey": 1,
                    "updateDescription.updatedFields.name": 1,
                    **fields,
                }
            },
        ]
        database = Product.get_pymongo_collection().database
        return await database.watch(
            pipeline,
            full_document="updateLookup",
            resume_after=resume_after,
            max_await_time_ms=wait_ms,
            batch_size=INDEX_BATCH,
        )


async def _category_names(keys: Iterable[ObjectId | None]) -> dict[ObjectId, str]:
    wanted = list({key for key in keys if key is not None})
    found = Category.get_pymongo_collection().find({"_id": {"$in": wanted}}, {"name": 1})
    return {category["_id"]: category["name"] async for category in found}


async def request_rebuild() -> int:
    """Ask the process that writes the index (the worker) to rebuild it, and wait until it has;
    how many products the rebuilt index holds."""
    collection = SearchIndexRebuild.get_pymongo_collection()
    finished = [{"$match": {"operationType": "update"}}]
    async with await collection.watch(finished, full_document="updateLookup") as stream:
        request = await SearchIndexRebuild().insert()
        async for change in stream:
            done = change.get("fullDocument") or {}
            if done.get("_id") == request.id and done.get("finished_at") is not None:
                return int(done["products"])
    raise RuntimeError("the change stream ended before the rebuild finished")
