"""The search index follower against the test session's MongoDB replica set and Redis: what a
write does to the index once the follower caught up, rebuilds, restarts, and the query cache."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId, json_util
from starlette.applications import Starlette

from documents.cache_invalidations import PendingInvalidation
from documents.catalog import Product
from documents.categories import CategoryFields, change_category
from documents.common import utc_now
from documents.products import ProductFields, change_product, delete_product
from integrations.search.engine import SearchDocument, SearchEngine, SearchRequest
from integrations.search.tantivy_engine import TantivySearch
from resolvers.query_cache import SEARCH_TAG, CacheDependencies, CacheStatus, QueryCache
from resolvers.search_index import REBUILD_ORDER, SearchIndexFollower, request_rebuild
from tests.factories import make_category, make_product
from tests.support import MongoCommandCounter, explain_all, winning_stages

INTERVAL = 0.05


class Engines:
    """Opens Tantivy indexes to write under `root`; the fixture closes them all at the end."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._opened: list[SearchEngine] = []

    async def open(self, name: str) -> SearchEngine:
        engine = await TantivySearch.open(self._root / name, writable=True)
        self._opened.append(engine)
        return engine

    async def close(self) -> None:
        for engine in self._opened:
            await engine.close()


@pytest.fixture
async def engines(tmp_path: Path) -> AsyncIterator[Engines]:
    opened = Engines(tmp_path)
    yield opened
    await opened.close()


@pytest.fixture
async def engine(engines: Engines) -> SearchEngine:
    return await engines.open("index")


def follower_of(engine: SearchEngine, app: Starlette) -> SearchIndexFollower:
    cache: QueryCache = app.state.services.query_cache
    return SearchIndexFollower(engine, query_cache=cache, commit_interval_seconds=INTERVAL)


@pytest.fixture
def follower(app: Starlette, engine: SearchEngine) -> SearchIndexFollower:
    return follower_of(engine, app)


async def found(engine: SearchEngine, text: str) -> set[str]:
    page = await engine.search(SearchRequest(text=text, limit=100))
    return {hit.id for hit in page.hits}


def ids(*products: Product) -> set[str]:
    return {str(product.id) for product in products}


def marker() -> SearchDocument:
    """A document only the index holds: a rebuild drops it, following the stream keeps it."""
    return SearchDocument(
        id=str(ObjectId()),
        name="Lighthouse",
        description="",
        brand="",
        category_id=str(ObjectId()),
        subcategory_id=None,
        category_names=(),
        final_price=100,
        in_stock=True,
        rating_average=0.0,
        created_at=utc_now(),
    )


async def add_marker(engine: SearchEngine) -> SearchDocument:
    document = marker()
    await engine.upsert([document])
    await engine.commit(await engine.resume_point())
    return document


async def test_a_new_index_is_built_from_the_visible_products(
    app: Starlette, engine: SearchEngine, follower: SearchIndexFollower
) -> None:
    audio = await make_category("Audio")
    shown = await make_product(audio, name="Wireless Headphones")
    await make_product(audio, name="Wireless Draft", published=False)

    await follower.catch_up()

    assert await engine.resume_point() is not None
    assert await found(engine, "wireless") == ids(shown)


async def test_a_rebuild_reads_the_products_by_category_from_an_index(
    app: Starlette,
    engine: SearchEngine,
    follower: SearchIndexFollower,
    mongo_commands: MongoCommandCounter,
) -> None:
    # By category, best rated first (the index keeps a category's products together), and
    # in that order from an index: no sort of a million products in memory.
    audio, books = await make_category("Audio"), await make_category("Books")
    await make_product(audio, name="Wireless Headphones")
    await make_product(books, name="Wireless Networks")

    await follower.rebuild()

    reads = [(name, c) for name, c in mongo_commands.sent if name == "find" and "sort" in c]
    assert [command["sort"] for _, command in reads] == [dict(REBUILD_ORDER)]
    explained = await explain_all(Product.get_pymongo_collection().database, reads)
    assert "SORT" not in winning_stages(explained[0][1])
    assert await found(engine, "wireless") == {
        str(product.id) for product in await Product.find_all().to_list()
    }


async def test_a_new_product_is_found_once_the_follower_has_caught_up(
    app: Starlette, engine: SearchEngine, follower: SearchIndexFollower
) -> None:
    await follower.catch_up()
    product = await make_product(await make_category("Audio"), name="Wireless Headphones")

    assert await found(engine, "wireless") == set()  # written, not yet committed to the index
    await follower.catch_up()

    assert await found(engine, "wireless") == ids(product)


async def test_unpublished_archived_and_deleted_products_leave_the_index(
    app: Starlette, engine: SearchEngine, follower: SearchIndexFollower
) -> None:
    audio = await make_category("Audio")
    kept, unpublished, archived, deleted = [
        await make_product(audio, name=f"Wireless {kind}")
        for kind in ("Earbuds", "Speaker", "Headset", "Radio")
    ]
    await follower.catch_up()
    assert await found(engine, "wireless") == ids(kept, unpublished, archived, deleted)

    await change_product(unpublished.id, ProductFields(published=False), currency="INR")
    await change_product(archived.id, ProductFields(archived=True), currency="INR")
    await delete_product(deleted.id)
    await follower.catch_up()

    assert await found(engine, "wireless") == ids(kept)
    await change_product(unpublished.id, ProductFields(published=True), currency="INR")
    await follower.catch_up()
    assert await found(engine, "wireless") == ids(kept, unpublished)


async def test_a_changed_product_is_found_by_its_new_words_only(
    app: Starlette, engine: SearchEngine, follower: SearchIndexFollower
) -> None:
    product = await make_product(await make_category("Audio"), name="Wireless Headphones")
    await follower.catch_up()

    await change_product(product.id, ProductFields(name="Studio Monitor"), currency="INR")
    await follower.catch_up()

    assert await found(engine, "wireless") == set()
    assert await found(engine, "studio monitor") == ids(product)


async def test_a_renamed_categorys_products_are_found_by_its_new_name(
    app: Starlette, engine: SearchEngine, follower: SearchIndexFollower
) -> None:
    audio = await make_category("Audio")
    earphones = await make_category("Earphones", parent=audio)
    product = await make_product(earphones, name="Model X1")
    elsewhere = await make_product(await make_category("Kitchen"), name="Model K1")
    await follower.catch_up()
    assert await found(engine, "earphones") == ids(product)

    await change_category(earphones.id, CategoryFields(name="Earbuds"))
    await follower.catch_up()

    assert await found(engine, "earbuds") == ids(product)
    assert await found(engine, "earphones") == set()
    assert await found(engine, "audio") == ids(product)
    assert await found(engine, "model") == ids(product, elsewhere)


WORDS = ("wireless", "speaker", "headphones", "studio", "earbuds", "audio", "kitchen", "kettle")


async def test_a_rebuild_gives_the_index_the_changes_gave(app: Starlette, engines: Engines) -> None:
    audio, kitchen = await make_category("Audio"), await make_category("Kitchen")
    speaker = await make_product(audio, name="Wireless Speaker")
    headphones = await make_product(audio, name="Wireless Headphones")
    kettle = await make_product(kitchen, name="Electric Kettle")
    incremental = await engines.open("incremental")
    follower = follower_of(incremental, app)
    await follower.catch_up()

    await change_product(speaker.id, ProductFields(name="Studio Speaker"), currency="INR")
    await change_product(headphones.id, ProductFields(published=False), currency="INR")
    await change_product(kettle.id, ProductFields(category_id=audio.id), currency="INR")
    earbuds = await make_product(kitchen, name="Wireless Earbuds")
    await change_category(kitchen.id, CategoryFields(name="Home Audio"))
    await follower.catch_up()
    rebuilt = await engines.open("rebuilt")
    await follower_of(rebuilt, app).catch_up()  # no position yet: built from the products

    answers = {word: await found(incremental, word) for word in WORDS}
    assert answers == {word: await found(rebuilt, word) for word in WORDS}
    assert answers["wireless"] == ids(earbuds)
    assert answers["audio"] == ids(speaker, kettle, earbuds)
    await follower.rebuild()
    assert answers == {word: await found(incremental, word) for word in WORDS}


async def test_a_restarted_follower_resumes_from_the_stored_position(
    app: Starlette, engines: Engines
) -> None:
    first = await engines.open("index")
    await follower_of(first, app).catch_up()
    kept = await add_marker(first)
    await first.close()
    product = await make_product(await make_category("Audio"), name="Wireless Mouse")

    again = await engines.open("index")
    await follower_of(again, app).catch_up()

    assert await found(again, "wireless") == ids(product)
    assert await found(again, "lighthouse") == {kept.id}  # resumed: not rebuilt


def moved_to_long_ago(event_position: Mapping[str, Any]) -> str:
    """The position of an event the oplog does not hold: a real event's, with its time (the 8
    bytes after the key string's 0x82 type byte) moved to long before the oplog's oldest entry."""
    data: str = event_position["_data"]
    assert data.startswith("82")
    return json_util.dumps({"_data": "82" + "0000000100000001" + data[18:]})


async def test_a_position_the_oplog_does_not_hold_rebuilds_the_index(
    app: Starlette, engine: SearchEngine, follower: SearchIndexFollower
) -> None:
    audio = await make_category("Audio")
    before = await make_product(audio, name="Wireless Speaker")
    await follower.catch_up()
    await add_marker(engine)
    async with await Product.get_pymongo_collection().watch() as stream:
        after = await make_product(audio, name="Wireless Radio")
        inserted = await stream.next()
    lost = moved_to_long_ago(inserted["_id"])
    await engine.commit(lost)

    await follower.catch_up()

    assert await found(engine, "lighthouse") == set()  # rebuilt
    assert await found(engine, "wireless") == ids(before, after)
    assert await engine.resume_point() not in (None, lost)


async def test_a_commit_retires_the_cached_search_answers_and_only_them(
    app: Starlette, engine: SearchEngine, follower: SearchIndexFollower
) -> None:
    cache: QueryCache = app.state.services.query_cache
    audio = await make_category("Audio")
    product = await make_product(audio, name="Wireless Speaker")
    await follower.catch_up()
    searched = CacheDependencies()
    searched.product_list(audio.id)
    searched.search_results()
    listed = CacheDependencies()  # a list read from MongoDB, not from the index
    listed.product_list(audio.id)
    for key, dependencies in (("searched", searched), ("listed", listed)):
        lookup = await cache.lookup(key)
        await cache.store(key, {"products": []}, dependencies, lookup.epoch, client="tests")
        assert (await cache.lookup(key)).status is CacheStatus.HIT

    # Written without the writers' own invalidation: only the index's commit retires anything.
    await Product.get_pymongo_collection().update_one(
        {"_id": product.id}, {"$set": {"name": "Studio Speaker"}}
    )
    assert (await cache.lookup("searched")).status is CacheStatus.HIT
    await follower.catch_up()

    assert (await cache.lookup("searched")).status is CacheStatus.MISS
    assert (await cache.lookup("listed")).status is CacheStatus.HIT
    lookup = await cache.lookup("searched")
    await cache.store("searched", {"products": []}, searched, lookup.epoch, client="tests")
    assert (await cache.lookup("searched")).status is CacheStatus.HIT
    await follower.rebuild()
    assert (await cache.lookup("searched")).status is CacheStatus.MISS
    assert (await cache.lookup("listed")).status is CacheStatus.HIT


async def test_the_running_follower_rebuilds_when_asked(
    app: Starlette, engine: SearchEngine, follower: SearchIndexFollower
) -> None:
    product = await make_product(await make_category("Audio"), name="Wireless Speaker")
    await follower.catch_up()
    await add_marker(engine)
    stop = asyncio.Event()
    running = asyncio.create_task(follower.run(stop))
    try:
        indexed = await asyncio.wait_for(request_rebuild(), timeout=60)
    finally:
        stop.set()
        await running

    assert indexed == 1
    assert await found(engine, "lighthouse") == set()
    assert await found(engine, "wireless") == ids(product)


async def test_a_running_follower_shows_a_write_within_its_commit_interval(
    app: Starlette, engine: SearchEngine
) -> None:
    follower = SearchIndexFollower(engine, query_cache=app.state.services.query_cache)
    await follower.catch_up()
    audio = await make_category("Audio")
    stop = asyncio.Event()
    running = asyncio.create_task(follower.run(stop))
    # The follower retires the cached search answers right after its commit, through a record in
    # MongoDB: its insert says when the commit is done.
    retired = [{"$match": {"operationType": "insert", "fullDocument.tags": SEARCH_TAG}}]
    try:
        async with await PendingInvalidation.get_pymongo_collection().watch(retired) as records:
            started = time.monotonic()
            product = await make_product(audio, name="Wireless Speaker")
            await asyncio.wait_for(records.next(), timeout=30)
            shown_after = time.monotonic() - started
    finally:
        stop.set()
        await running

    assert await found(engine, "wireless") == ids(product)
    # One SEARCH_COMMIT_INTERVAL (1 s) at most since the follower's last commit, plus the
    # commit; generous, for a busy machine.
    assert shown_after < 3.0, shown_after
