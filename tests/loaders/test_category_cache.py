"""The categories a process keeps between requests (loaders/category_cache.py): read from MongoDB
once, forgotten when any process changes one, and never kept while the change stream is not
followed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from bson import ObjectId
from pymongo import AsyncMongoClient
from starlette.applications import Starlette

from documents.catalog import Category
from documents.placement import PLACEMENT_GUARD
from loaders.category_cache import CategoryCache
from loaders.registry import Loaders, build_loaders
from resolvers.query_cache import CacheDependencies, CacheStatus, QueryCache, StoredAnswer
from resolvers.query_cache.tags import CATALOG_TAG, categories_named, tag
from settings import Settings
from tests.factories import global_id, make_category, make_product
from tests.fakes.mongo_proxy import MongoProxy
from tests.support import MongoCommandCounter, admin_token, graphql

WAIT_SECONDS = 10.0
PRODUCT = "query($id: ID!) { product(id: $id) { name category { name } } }"
PRODUCTS = "{ products(first: 5) { edges { node { name category { name } } } } }"
RENAME = """
mutation($id: ID!, $name: String!) {
  updateCategory(input: {id: $id, name: $name}) { errors { code } }
}
"""


async def settled(cache: CategoryCache, condition: Any) -> None:
    await asyncio.wait_for(cache.until(condition), WAIT_SECONDS)


@pytest.fixture
async def cache(app: Starlette) -> CategoryCache:
    """The app's cache, once it follows the categories' changes."""
    kept: CategoryCache = app.state.services.categories
    await settled(kept, lambda: kept.live)
    return kept


async def category_name(cache: CategoryCache, category: Category) -> str | None:
    """A category's name as a new request's loader reads it."""
    found = await loaders_keeping(cache).category_by_id.load(category.id)
    return None if found is None else found.name


def loaders_keeping(cache: CategoryCache) -> Loaders:
    """A request's loaders that read the categories `cache` keeps while it keeps them."""
    return build_loaders(kept_categories=lambda: cache if cache.live else None)


def category_reads(commands: MongoCommandCounter) -> int:
    return sum(1 for name, sent in commands.sent if name == "find" and sent["find"] == "categories")


async def test_a_kept_category_is_read_without_asking_mongodb(
    cache: CategoryCache, mongo_commands: MongoCommandCounter
) -> None:
    category = await make_category("Footwear")

    assert await category_name(cache, category) == "Footwear"
    assert category_reads(mongo_commands) == 1
    assert await category_name(cache, category) == "Footwear"
    assert await category_name(cache, category) == "Footwear"
    assert category_reads(mongo_commands) == 1


async def test_a_change_by_another_process_is_forgotten_when_its_event_arrives(
    cache: CategoryCache, mongo_commands: MongoCommandCounter
) -> None:
    category = await make_category("Footwear")
    assert await category_name(cache, category) == "Footwear"
    before = cache.generation

    # As another process (or a shell) would change it: nothing here is told of the write.
    await Category.get_pymongo_collection().update_one(
        {"_id": category.id}, {"$set": {"name": "Shoes"}}
    )
    await settled(cache, lambda: cache.generation > before)

    assert await category_name(cache, category) == "Shoes"
    assert category_reads(mongo_commands) == 2


@pytest.fixture
def query_cache_off(app: Starlette, monkeypatch: pytest.MonkeyPatch) -> None:
    """Answers are not stored in the query cache, and so may be built from kept categories."""
    monkeypatch.setattr(app.state.services.query_cache, "enabled", False)


@pytest.mark.usefixtures("query_cache_off")
async def test_this_processs_write_shows_in_its_next_read_at_once(
    client: httpx.AsyncClient, cache: CategoryCache
) -> None:
    category = await make_category("Footwear")
    product = await make_product(category)
    token = await admin_token(client)
    variables = {"id": global_id(product)}
    shown = await graphql(client, PRODUCT, variables)
    assert shown["data"]["product"]["category"]["name"] == "Footwear"
    assert cache.kept(category.id) is not None

    renamed = await graphql(
        client, RENAME, {"id": global_id(category), "name": "Shoes"}, token=token
    )
    assert renamed["data"]["updateCategory"]["errors"] == []

    # No waiting for the change stream: the write forgot what this process kept.
    assert cache.kept(category.id) is None
    listed = await graphql(client, PRODUCTS)
    assert [edge["node"]["category"]["name"] for edge in listed["data"]["products"]["edges"]] == [
        "Shoes"
    ]
    shown = await graphql(client, PRODUCT, variables)
    assert shown["data"]["product"]["category"]["name"] == "Shoes"


@pytest.mark.usefixtures("query_cache_off")
async def test_pages_read_no_category_from_mongodb_once_it_is_kept(
    client: httpx.AsyncClient, cache: CategoryCache, mongo_commands: MongoCommandCounter
) -> None:
    category = await make_category("Footwear")
    for _ in range(3):
        await make_product(category)
    await graphql(client, PRODUCTS)  # reads the category once, and keeps it
    mongo_commands.reset()

    listed = await graphql(client, PRODUCTS)

    assert {edge["node"]["category"]["name"] for edge in listed["data"]["products"]["edges"]} == {
        "Footwear"
    }
    assert category_reads(mongo_commands) == 0
    lookups = [sent for name, sent in mongo_commands.sent if "$lookup" in str(sent)]
    assert lookups == []


async def test_an_answer_stored_in_the_query_cache_reads_categories_from_mongodb(
    app: Starlette,
    client: httpx.AsyncClient,
    cache: CategoryCache,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # What another process may still keep in the moment before a rename's event reaches it,
    # while Redis has already heard of the rename: the old name.
    category = await make_category("Shoes")
    product = await make_product(category)
    stored = await Category.get_pymongo_collection().find_one({"_id": category.id})
    assert stored is not None
    cache.keep(cache.generation, [{**stored, "name": "Footwear"}])
    variables = {"id": global_id(product)}

    missed = await graphql(client, PRODUCT, variables)
    hit = await graphql(client, PRODUCT, variables)

    assert missed["extensions"]["cache"] == "MISS"
    assert hit["extensions"]["cache"] == "HIT"
    assert missed["data"]["product"]["category"]["name"] == "Shoes"
    assert hit["data"]["product"]["category"]["name"] == "Shoes"
    # An answer no other request is given is built from what is kept.
    monkeypatch.setattr(app.state.services.query_cache, "enabled", False)
    unshared = await graphql(client, PRODUCT, variables)
    assert unshared["data"]["product"]["category"]["name"] == "Footwear"


async def test_a_product_write_to_its_category_forgets_nothing(cache: CategoryCache) -> None:
    placed, renamed = await make_category("Footwear"), await make_category("Bags")
    for category in (placed, renamed):
        await category_name(cache, category)
    categories = Category.get_pymongo_collection()

    # What placing a product in one writes (documents/placement.py), then a rename of the other.
    await categories.update_one({"_id": placed.id}, {"$inc": {PLACEMENT_GUARD: 1}})
    await categories.update_one({"_id": renamed.id}, {"$set": {"name": "Luggage"}})
    await settled(cache, lambda: cache.kept(renamed.id) is None)

    # Events arrive in order: the first write's would have come before the rename's.
    assert cache.kept(placed.id) is not None


async def test_an_invalidation_of_this_process_forgets_its_categories_at_once(
    app: Starlette, cache: CategoryCache
) -> None:
    changed, unchanged = await make_category("Footwear"), await make_category("Bags")
    for category in (changed, unchanged):
        await category_name(cache, category)

    # No write to MongoDB, so no event: only the invalidation can make it forget.
    await app.state.services.query_cache.invalidate_category(changed)

    assert cache.kept(changed.id) is None
    assert cache.kept(unchanged.id) is not None


async def test_a_read_begun_before_a_change_is_not_kept(cache: CategoryCache) -> None:
    category = await make_category("Footwear")
    stored = await Category.get_pymongo_collection().find_one({"_id": category.id})
    assert stored is not None
    generation = cache.generation

    cache.forget()  # a change arrived while the read was under way
    cache.keep(generation, [stored])

    assert cache.kept(category.id) is None
    cache.keep(cache.generation, [stored])
    assert cache.kept(category.id) == stored


async def test_it_keeps_at_most_its_bound_the_latest_read_first() -> None:
    bounded = CategoryCache(max_kept=2)
    first, second, third = ({"_id": number, "name": str(number)} for number in range(3))
    bounded.keep(bounded.generation, [first])  # not following: nothing is kept
    assert bounded.kept(0) is None

    bounded._following = True  # as `follow` sets it once the stream is open
    bounded.keep(bounded.generation, [first, second])
    assert bounded.kept(0) == first  # read again: now the latest
    bounded.keep(bounded.generation, [third])

    assert [bounded.kept(number) for number in range(3)] == [first, None, third]


async def test_only_the_named_categories_are_forgotten(cache: CategoryCache) -> None:
    first, second = ({"_id": ObjectId(), "name": name} for name in ("first", "second"))
    cache.keep(cache.generation, [first, second])

    cache.forget([first["_id"]])

    assert cache.kept(first["_id"]) is None
    assert cache.kept(second["_id"]) == second


@contextlib.asynccontextmanager
async def following(collection: Any) -> AsyncIterator[tuple[CategoryCache, asyncio.Task[None]]]:
    cache = CategoryCache()
    task = asyncio.create_task(cache.follow(collection))
    try:
        await settled(cache, lambda: cache.live)
        yield cache, task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_stream_that_ends_is_followed_again(settings: Settings) -> None:
    client: AsyncMongoClient[Any] = AsyncMongoClient(settings.mongodb_uri)
    try:
        collection = client[settings.mongodb_database]["categories_followed_again"]
        await collection.insert_one({"_id": 1, "name": "Footwear"})
        async with following(collection) as (cache, _):
            opened = cache.generation
            cache.keep(cache.generation, [{"_id": 1, "name": "Footwear"}])

            await collection.drop()  # its stream ends with an "invalidate" event
            await settled(cache, lambda: not cache.live)
            assert cache.kept(1) is None
            await settled(cache, lambda: cache.live)

            assert cache.generation > opened
            cache.keep(cache.generation, [{"_id": 1, "name": "Footwear"}])
            assert cache.kept(1) is not None
    finally:
        await client.close()


async def test_nothing_is_kept_once_mongodb_goes_away(
    app: Starlette, settings: Settings, mongo_proxy: MongoProxy
) -> None:
    category = await make_category("Footwear")
    stored = await Category.get_pymongo_collection().find_one({"_id": category.id})
    client: AsyncMongoClient[Any] = AsyncMongoClient(mongo_proxy.uri, serverSelectionTimeoutMS=1000)
    try:
        collection = client[settings.mongodb_database][Category.get_collection_name()]
        async with following(collection) as (cache, _):
            cache.keep(cache.generation, [stored])
            assert cache.kept(category.id) is not None

            await mongo_proxy.shut()
            await settled(cache, lambda: not cache.live)

            assert cache.kept(category.id) is None
            cache.keep(cache.generation, [stored])
            assert cache.kept(category.id) is None
            # The loader then reads MongoDB, as without a cache.
            found = await loaders_keeping(cache).category_by_id.load(category.id)
            assert found is not None
            assert found.name == "Footwear"
    finally:
        await client.close()


async def test_a_result_read_from_kept_copies_is_never_stored(app: Starlette) -> None:
    query_cache = app.state.services.query_cache
    lookup = await query_cache.lookup("read-from-kept-copies")
    assert lookup.status is CacheStatus.MISS
    unstored, to_store = CacheDependencies(), CacheDependencies()

    assert unstored.claim_kept_copies()
    to_store.will_be_stored()
    assert not to_store.claim_kept_copies()
    results = [
        await store(query_cache, "read-from-kept-copies", dependencies, lookup.epoch)
        for dependencies in (unstored, to_store)
    ]

    assert results == [False, True]


async def store(
    query_cache: QueryCache, key: str, dependencies: CacheDependencies, epoch: str | None
) -> bool:
    """Whether an empty answer under `key`, read as `dependencies` say, was stored."""
    _, stored = await query_cache.store_answer(
        key, StoredAnswer(orjson.dumps({"data": {}})), dependencies, epoch, client="127.0.0.1"
    )
    return stored


def test_an_invalidation_names_the_categories_it_changed() -> None:
    changed = ObjectId()
    collection = Category.get_collection_name()
    named = {tag(collection, "id", changed), tag(collection, "slug", "shoes"), "products:list:all"}

    assert categories_named(named) == {changed}
    assert categories_named({tag(collection, "id", None)}) == set()
    assert categories_named(named | {CATALOG_TAG}) is None  # a bulk change: any may have


async def test_a_failing_invalidation_listener_does_not_stop_redis_being_told(
    app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    query_cache = app.state.services.query_cache

    def broken(tags: set[str]) -> None:
        raise RuntimeError("listener broke")

    monkeypatch.setattr(query_cache, "_listeners", [broken, *query_cache._listeners])
    changed = ObjectId()
    dependencies = CacheDependencies()
    dependencies(Category.get_collection_name(), "id", changed)
    lookup = await query_cache.lookup("shows-a-category")
    assert await store(query_cache, "shows-a-category", dependencies, lookup.epoch)
    assert (await query_cache.lookup("shows-a-category")).status is CacheStatus.HIT

    told = await query_cache.invalidate({tag(Category.get_collection_name(), "id", changed)})

    assert told
    assert (await query_cache.lookup("shows-a-category")).status is CacheStatus.MISS
