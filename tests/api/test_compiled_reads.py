"""Compiled reads (schema/compiled_reads/) answer anonymous GET catalog queries with exactly the
bytes and headers of the normal path: a corpus of documents (the README's examples, the
storefront client's queries, aliases, variables, fragments, __typename, nested categories,
totalCount, pageInfo, filters, sorting, cursors) answered by an app with compiled reads and by
one without; everything they do not answer (errors, other root fields, directives, arguments
below the root, signed-in callers) goes to the normal path and answers as it always has; a
compiled miss fills the query cache for later hits, and writes still retire it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
from bson import ObjectId
from redis.asyncio import Redis
from starlette.applications import Starlette

from documents.catalog import Category, Product
from documents.common import Image
from resolvers.cost_bucket import QueryCostBucket
from resolvers.search_index import SearchIndexFollower
from schema.compiled_reads.reads import CompiledReads
from schema.observability import JsonLogFormatter
from settings import Settings
from tests.factories import global_id, make_category, make_product
from tests.support import MongoCommandCounter, app_sharing_services, client_at, get_params

LISTING = (
    "{ products(first: 20) { edges { node { name slug finalPrice { amount currency } "
    "category { name } } } } }"
)
PRODUCT_PAGE = (
    "query($id: ID!) { product(id: $id) { name slug description brand "
    "price { amount currency } discountPercent finalPrice { amount currency } inStock "
    "images { url alt width height } category { name slug } ratingAverage ratingCount } }"
)
STOREFRONT_PRODUCTS = """
  query StorefrontProducts($first: Int!) {
    products(first: $first, filter: { inStock: true }) {
      totalCount
      edges { node { id name slug inStock finalPrice { amount currency } } }
    }
  }
"""
STOREFRONT_PRODUCT = """
  query StorefrontProduct($slug: String!) {
    product(slug: $slug) { id name slug stock finalPrice { amount currency } }
  }
"""
STOREFRONT_SEARCH = """
  query StorefrontSearch($search: String!) {
    products(search: $search, first: 10) { edges { node { id name } } }
  }
"""
FILTERED_PAGE = """
query Laptops($after: String) {
  products(
    first: 2
    after: $after
    filter: { priceMin: "50", priceMax: "900", inStock: true, minRating: 1 }
    sortBy: { field: PRICE, direction: ASC }
  ) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      node {
        id name slug brand
        price { amount currency }
        finalPrice { amount currency }
        discountPercent inStock ratingAverage ratingCount
        images { url alt width height }
        category { name } subcategory { name }
      }
    }
  }
}
"""
ALIASES = """
query Aliased($slug: String) {
  first: products(first: 2) { items: edges { at: cursor product: node { title: name id } } }
  one: product(slug: $slug) { title: name cost: finalPrice { value: amount currency } }
  kind: __typename
}
"""
FRAGMENTS = """
query Fragments {
  products(first: 3, sortBy: { field: NAME, direction: DESC }) { ...Page }
}
fragment Page on ProductConnection {
  __typename
  edges { __typename cursor node { ...Item ... on Product { slug name } } }
  pageInfo { __typename hasNextPage hasPreviousPage startCursor endCursor }
}
fragment Item on Product {
  __typename id name
  category { ...Menu }
  subcategory { ...Menu id }
}
fragment Menu on Category { __typename id name slug description createdAt updatedAt image { url } }
"""
ALL_PRODUCT_FIELDS = """
query Everything($id: ID!) {
  product(id: $id) {
    id name slug description brand discountPercent stock inStock published archived
    createdAt updatedAt ratingAverage ratingCount
    price { amount currency } finalPrice { amount currency }
    images { id url alt width height }
    category { id name } subcategory { id name }
  }
}
"""
BACKWARDS = """
query Backwards($before: String) {
  products(last: 2, before: $before) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { name category { name } subcategory { name } } }
  }
}
"""
SCOPED = """
query Scoped($category: ID, $subcategory: ID, $brand: String, $sort: ProductSortField!) {
  products(
    first: 5
    filter: { categoryId: $category, subcategoryId: $subcategory, brand: $brand }
    sortBy: { field: $sort }
  ) { totalCount edges { node { name brand category { slug } } } }
}
"""
LIST_AND_PAGE = """
query ListAndPage($id: ID!) {
  products(first: 5) { edges { node { id name } } }
  product(id: $id) { name description images { url } ratingHistogram { stars count } }
}
"""
EVERY_LISTED_FIELD = """
{
  products(first: 5) {
    edges {
      node {
        id name slug description brand discountPercent stock inStock published archived
        createdAt updatedAt ratingAverage ratingCount ratingHistogram { stars count }
        price { amount currency } finalPrice { amount currency }
        images { id url alt width height }
        category { id name image { url alt } } subcategory { id name }
      }
    }
  }
}
"""
BY_SLUG_WITH_CATEGORY = """
query BySlug($slug: String!) {
  product(slug: $slug) { name description category { name } subcategory { name slug } }
}
"""
PARENTS = """
query Parents($id: ID!) {
  product(id: $id) { category { name parent { name } } subcategory { name parent { name slug } } }
}
"""
ZERO = "{ products(first: 0) { totalCount pageInfo { hasNextPage endCursor } edges { cursor } } }"

# Answered by the normal path only.
DIRECTIVE = (
    "query($on: Boolean!) { products(first: 2) { edges { node { name @include(if: $on) } } } }"
)
NODE = "query($id: ID!) { node(id: $id) { __typename ... on Product { name } } }"
CATEGORIES = "{ categories(first: 5) { edges { node { name } } } }"
TRANSFORMED_IMAGE = (
    "query($id: ID!) { product(id: $id) { images { url(transform: { width: 100 }) } } }"
)
NESTED_LIST = '{ category(slug: "shoes") { name products(first: 2) { edges { node { name } } } } }'
INTERFACE_FRAGMENT = "{ products(first: 2) { edges { node { ... on Node { id } } } } }"
PRIVATE = "{ products(first: 2, filter: { includeUnpublished: true }) { edges { node { name } } } }"


@pytest.fixture
async def catalog() -> list[Product]:
    shoes = await make_category("Shoes", slug="shoes")
    boots = await make_category("Boots", parent=shoes, slug="boots")
    bags = await make_category(
        "Bags", slug="bags", image=Image(url="https://img.test/bags.jpg", alt="Bags")
    )
    made = [
        await make_product(shoes, name="Runner", brand="Acme", price=49_900, stock=3),
        await make_product(boots, name="Hiker", brand="Peak", price=79_900, discount_percent=10),
        await make_product(
            boots, name="Wader", brand="Peak", price=29_900, stock=0, ratings=[0, 0, 1, 2, 3]
        ),
        await make_product(
            bags,
            name="Tote",
            brand="Acme",
            price=19_900,
            ratings=[1, 0, 0, 0, 4],
            images=[
                Image(url="https://img.test/tote.jpg", alt="Tote", width=800, height=600),
                Image(url="https://img.test/tote-2.jpg"),
            ],
        ),
        await make_product(bags, name="Satchel wireless", brand="Hide", price=89_900),
    ]
    hidden = await make_product(bags, name="Hidden", published=False)
    assert hidden.published is False
    return made


@pytest.fixture
async def plain(settings: Settings, app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app sharing the test app's services, without compiled reads."""
    normal = app_sharing_services(settings.model_copy(update={"compiled_reads": False}), app)
    assert normal.state.compiled_reads is None
    transport = httpx.ASGITransport(app=normal)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


def compiled_reads(app: Starlette) -> CompiledReads:
    reads: CompiledReads = app.state.compiled_reads
    return reads


params = get_params


_COMPARED_HEADERS = ("content-type", "cache-control", "etag", "vary", "content-encoding")


def answer_of(response: httpx.Response) -> tuple[int, bytes, dict[str, str | None]]:
    return (
        response.status_code,
        response.content,
        {name: response.headers.get(name) for name in _COMPARED_HEADERS},
    )


async def both(
    app: Starlette,
    client: httpx.AsyncClient,
    plain: httpx.AsyncClient,
    sent: dict[str, str],
    headers: dict[str, str] | None = None,
) -> tuple[Any, Any, int]:
    """The answer of the compiled app (a miss, the second time it is sent: the first teaches it
    the document), then the normal path's (a miss too: each entry stored is retired), and how
    many requests compiled reads answered."""
    reads = compiled_reads(app)
    await teach(app, client, sent, headers)
    before = reads.answered
    compiled = await client.get("/graphql", params=sent, headers=headers)
    await app.state.services.query_cache.invalidate_catalog()
    normal = await plain.get("/graphql", params=sent, headers=headers)
    await app.state.services.query_cache.invalidate_catalog()
    return answer_of(compiled), answer_of(normal), reads.answered - before


def corpus(catalog: list[Product]) -> list[tuple[str, dict[str, Any] | None]]:
    runner, hiker, wader, tote, _ = catalog
    return [
        (LISTING, None),
        (PRODUCT_PAGE, {"id": global_id(tote)}),
        (PRODUCT_PAGE, {"id": global_id(wader)}),
        (STOREFRONT_PRODUCTS, {"first": 10}),
        (STOREFRONT_PRODUCT, {"slug": hiker.slug}),
        (STOREFRONT_PRODUCT, {"slug": "no-such-product"}),
        (STOREFRONT_SEARCH, {"search": "wireless"}),
        (FILTERED_PAGE, {}),
        (ALIASES, {"slug": runner.slug}),
        (FRAGMENTS, None),
        (ALL_PRODUCT_FIELDS, {"id": global_id(tote)}),
        (ALL_PRODUCT_FIELDS, {"id": global_id(hiker)}),
        (BACKWARDS, {}),
        (SCOPED, {"category": global_id_of_category(runner), "sort": "CREATED_AT"}),
        (SCOPED, {"subcategory": global_id_of_subcategory(hiker), "sort": "RATING"}),
        (SCOPED, {"brand": "Acme", "sort": "NAME"}),
        (ZERO, None),
        (LIST_AND_PAGE, {"id": global_id(tote)}),
        (EVERY_LISTED_FIELD, None),
        (PARENTS, {"id": global_id(hiker)}),
        (PARENTS, {"id": global_id(tote)}),
        (BY_SLUG_WITH_CATEGORY, {"slug": hiker.slug}),
        (BY_SLUG_WITH_CATEGORY, {"slug": "no-such-product"}),
        (PRODUCT_PAGE, {"id": global_id(Product.model_construct(id=ObjectId()))}),
    ]


def global_id_of_category(product: Product) -> str:
    return global_id(Category(id=product.category_id, name="x", slug="x"))


def global_id_of_subcategory(product: Product) -> str:
    assert product.subcategory_id is not None
    return global_id(Category(id=product.subcategory_id, name="x", slug="x"))


async def test_compiled_reads_answer_every_document_of_the_corpus_with_the_same_bytes(
    app: Starlette, client: httpx.AsyncClient, plain: httpx.AsyncClient, catalog: list[Product]
) -> None:
    for query, variables in corpus(catalog):
        compiled, normal, answered = await both(app, client, plain, params(query, variables))

        assert compiled == normal, query
        assert compiled[0] == 200, compiled
        assert b'"errors"' not in compiled[1], compiled
        assert answered == 1, query


async def test_the_next_page_from_a_cursor_is_the_same_both_ways(
    app: Starlette, client: httpx.AsyncClient, plain: httpx.AsyncClient, catalog: list[Product]
) -> None:
    first = (await plain.get("/graphql", params=params(FILTERED_PAGE, {}))).json()
    cursor = first["data"]["products"]["pageInfo"]["endCursor"]
    last = (await plain.get("/graphql", params=params(BACKWARDS, {}))).json()
    before = last["data"]["products"]["pageInfo"]["startCursor"]

    for query, variables in ((FILTERED_PAGE, {"after": cursor}), (BACKWARDS, {"before": before})):
        compiled, normal, answered = await both(app, client, plain, params(query, variables))

        assert compiled == normal
        assert answered == 1
    assert cursor is not None
    assert before is not None


async def test_an_empty_page_with_its_categories_joined_is_empty_both_ways(
    app: Starlette, client: httpx.AsyncClient, plain: httpx.AsyncClient, catalog: list[Product]
) -> None:
    empty = await make_category("Empty", slug="empty")
    variables = {"category": global_id(empty), "sort": "CREATED_AT"}

    compiled, normal, answered = await both(app, client, plain, params(SCOPED, variables))

    assert compiled == normal
    assert answered == 1
    assert orjson.loads(compiled[1])["data"]["products"] == {"totalCount": 0, "edges": []}


SEARCH_WITH_HIGHLIGHTS = """
  query StorefrontSearch($search: String!, $after: String) {
    products(search: $search, first: 1, after: $after) {
      totalCount
      pageInfo { endCursor }
      edges { highlights { field fragment ranges { start end } } node { name category { name } } }
    }
  }
"""


async def test_a_search_of_the_index_with_highlights_is_the_same_both_ways(
    app: Starlette,
    search_index: SearchIndexFollower,
    client: httpx.AsyncClient,
    plain: httpx.AsyncClient,
    catalog: list[Product],
) -> None:
    radios = await make_category("Radios")
    await make_product(radios, name="Wireless Radio", description="A wireless radio")
    await search_index.catch_up()
    searched = params(SEARCH_WITH_HIGHLIGHTS, {"search": "wireless"})
    first = (await plain.get("/graphql", params=searched)).json()["data"]["products"]
    after = {"search": "wireless", "after": first["pageInfo"]["endCursor"]}

    for sent in (searched, params(SEARCH_WITH_HIGHLIGHTS, after)):
        compiled, normal, answered = await both(app, client, plain, sent)

        assert compiled == normal
        assert answered == 1
        [edge] = orjson.loads(compiled[1])["data"]["products"]["edges"]
        assert edge["highlights"][0]["field"] == "NAME"
    # The description the page does not select is read for its highlights.
    fields = [highlight["field"] for highlight in first["edges"][0]["highlights"]]
    assert fields == ["NAME", "DESCRIPTION"]
    assert first["totalCount"] == 2  # "Satchel wireless" of the catalog, and the radio


async def test_a_compiled_search_reads_its_products_without_unread_fields(
    app: Starlette,
    search_index: SearchIndexFollower,
    client: httpx.AsyncClient,
    catalog: list[Product],
    mongo_commands: MongoCommandCounter,
) -> None:
    await search_index.catch_up()
    response = await uncached_get(
        app, client, mongo_commands, params(STOREFRONT_SEARCH, {"search": "wireless"})
    )

    assert response.json()["data"]["products"]["edges"]
    assert mongo_commands.commands == ["aggregate"]
    ((_, command),) = mongo_commands.sent
    assert command["pipeline"][1]["$project"] == {
        "description": 0,
        "images": 0,
        "rating_histogram": 0,
        "imported_rating_histogram": 0,
    }


async def test_what_compiled_reads_do_not_answer_goes_to_the_normal_path(
    app: Starlette, client: httpx.AsyncClient, plain: httpx.AsyncClient, catalog: list[Product]
) -> None:
    tote = catalog[3]
    cases: list[tuple[str, dict[str, Any] | None]] = [
        # Errors: a bad id, a bad cursor, a page too large, variables that do not coerce.
        (PRODUCT_PAGE, {"id": "not-a-global-id"}),
        (PRODUCT_PAGE, {"id": global_id_of_category(tote)}),
        (BACKWARDS, {"before": "bm90IGEgY3Vyc29y"}),
        ("{ products(first: 500) { edges { node { name } } } }", None),
        (STOREFRONT_PRODUCTS, {"first": "ten"}),
        (STOREFRONT_PRODUCTS, None),
        ("{ products(first: 2) { edges { node { nope } } } }", None),
        ("{ products(first: 2", None),
        ('{ product(id: "x", slug: "y") { name } }', None),
        (PRIVATE, None),
        # Documents a plan does not answer.
        (DIRECTIVE, {"on": True}),
        (NODE, {"id": global_id(tote)}),
        (CATEGORIES, None),
        (TRANSFORMED_IMAGE, {"id": global_id(tote)}),
        (NESTED_LIST, None),
        (INTERFACE_FRAGMENT, None),
        ("mutation { logout { errors { code } } }", None),
    ]
    for query, variables in cases:
        compiled, normal, answered = await both(app, client, plain, params(query, variables))

        assert compiled == normal, query
        assert answered == 0, query


async def test_a_signed_in_or_cart_holding_caller_goes_to_the_normal_path(
    app: Starlette, client: httpx.AsyncClient, plain: httpx.AsyncClient, catalog: list[Product]
) -> None:
    for header in ({"Authorization": "Bearer not-a-token"}, {"X-Cart-Token": "some-cart"}):
        compiled, normal, answered = await both(app, client, plain, params(LISTING), header)

        assert compiled == normal
        assert answered == 0


async def test_several_operations_run_the_one_named(
    app: Starlette, client: httpx.AsyncClient, plain: httpx.AsyncClient, catalog: list[Product]
) -> None:
    document = STOREFRONT_PRODUCT + STOREFRONT_PRODUCTS
    named = params(document, {"first": 2}, operationName="StorefrontProducts")

    compiled, normal, answered = await both(app, client, plain, named)
    unnamed, unnamed_normal, unnamed_answered = await both(
        app, client, plain, params(document, {"first": 2})
    )

    assert compiled == normal
    assert answered == 1
    assert unnamed == unnamed_normal
    assert unnamed_answered == 0


async def test_a_compiled_miss_fills_the_cache_for_the_fast_path_and_a_write_retires_it(
    app: Starlette, client: httpx.AsyncClient, catalog: list[Product]
) -> None:
    tote = catalog[3]
    sent = params(PRODUCT_PAGE, {"id": global_id(tote)})
    reads = compiled_reads(app)
    await teach(app, client, sent)
    before = reads.answered

    miss = await client.get("/graphql", params=sent)
    hit = await client.get("/graphql", params=sent)
    tote.name = "Tote, renamed"
    tote.updated_at = datetime.now(UTC)
    await tote.save()
    await app.state.services.query_cache.invalidate_product(tote)
    after_write = await client.get("/graphql", params=sent)

    assert reads.answered == before + 2  # the miss and the one after the write
    assert hit.content == miss.content
    assert hit.headers["etag"] == miss.headers["etag"]
    assert miss.json()["data"]["product"]["name"] == "Tote"
    assert after_write.json()["data"]["product"]["name"] == "Tote, renamed"


async def test_a_compiled_read_logs_the_line_and_counts_the_metrics_of_the_normal_path(
    app: Starlette, client: httpx.AsyncClient, plain: httpx.AsyncClient, catalog: list[Product]
) -> None:
    lines: list[dict[str, Any]] = []
    handler = logging.Handler()
    formatter = JsonLogFormatter()
    handler.emit = lambda record: lines.append(orjson.loads(formatter.format(record)))  # type: ignore[method-assign]
    access = logging.getLogger("commerce.access")
    previous = access.level
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    try:
        _, _, answered = await both(
            app, client, plain, params(STOREFRONT_PRODUCTS, {"first": 10}), {"x-request-id": "r1"}
        )
    finally:
        access.removeHandler(handler)
        access.setLevel(previous)

    # The document taught first, then the compiled answer and the normal path's.
    compiled, normal = ({k: v for k, v in line.items() if k not in _VARYING} for line in lines[1:])
    assert answered == 1
    assert compiled == normal
    assert compiled["operation"] == "StorefrontProducts"
    assert compiled["cache"] == "MISS"
    assert compiled["cost"] > 0


_VARYING = ("duration_ms", "time", "message")


async def test_a_compiled_listing_reads_its_page_and_categories_in_one_command_without_unread_fields(
    app: Starlette,
    client: httpx.AsyncClient,
    catalog: list[Product],
    mongo_commands: MongoCommandCounter,
) -> None:
    response = await uncached_get(app, client, mongo_commands, params(LISTING))

    assert response.status_code == 200
    assert mongo_commands.commands == ["aggregate"]
    ((_, command),) = mongo_commands.sent
    stages = [next(iter(stage)) for stage in command["pipeline"]]
    # The page's rows, then their categories, each looked up once for the page.
    assert stages[-5:] == ["$project", "$group", "$lookup", "$unwind", "$replaceWith"]
    assert command["pipeline"][-5]["$project"] == {
        "description": 0,
        "images": 0,
        "rating_histogram": 0,
        "imported_rating_histogram": 0,
    }


async def test_a_category_renamed_retires_the_compiled_listing_that_showed_it(
    app: Starlette, client: httpx.AsyncClient, catalog: list[Product]
) -> None:
    sent = params(LISTING)
    await teach(app, client, sent)
    await client.get("/graphql", params=sent)
    await rename_category(app, catalog[0].category_id, "Sneakers")

    after = (await client.get("/graphql", params=sent)).json()

    names = {edge["node"]["category"]["name"] for edge in after["data"]["products"]["edges"]}
    assert "Sneakers" in names
    assert "Shoes" not in names


async def test_a_compiled_product_page_reads_the_product_and_its_category_in_one_command(
    app: Starlette,
    client: httpx.AsyncClient,
    catalog: list[Product],
    mongo_commands: MongoCommandCounter,
) -> None:
    sent = params(PRODUCT_PAGE, {"id": global_id(catalog[1])})

    response = await uncached_get(app, client, mongo_commands, sent)

    assert response.json()["data"]["product"]["category"] == {"name": "Shoes", "slug": "shoes"}
    assert mongo_commands.commands == ["aggregate"]


async def test_a_category_renamed_retires_the_compiled_product_page_that_showed_it(
    app: Starlette, client: httpx.AsyncClient, catalog: list[Product]
) -> None:
    sent = params(PRODUCT_PAGE, {"id": global_id(catalog[1])})
    await teach(app, client, sent)
    await client.get("/graphql", params=sent)
    await rename_category(app, catalog[1].category_id, "Footwear")

    after = (await client.get("/graphql", params=sent)).json()

    assert after["data"]["product"]["category"]["name"] == "Footwear"


async def rename_category(app: Starlette, category_id: ObjectId, name: str) -> None:
    """Rename a category as an admin's write does: saved, then its cached reads retired."""
    category = await Category.get(category_id)
    assert category is not None
    category.name = name
    await category.save()
    await app.state.services.query_cache.invalidate_category(category)


async def uncached_get(
    app: Starlette,
    client: httpx.AsyncClient,
    mongo_commands: MongoCommandCounter,
    sent: dict[str, str],
) -> httpx.Response:
    """A GET that misses the cache (of a document sent before), with only its own MongoDB
    commands counted."""
    await teach(app, client, sent)
    mongo_commands.reset()
    return await client.get("/graphql", params=sent)


async def test_compiled_reads_draw_from_the_cost_bucket_and_are_refused_as_the_normal_path_is(
    app: Starlette,
    settings: Settings,
    redis: Redis,
    catalog: list[Product],
    replace_services: Callable[..., None],
) -> None:
    bucket = QueryCostBucket(
        redis, key_prefix=settings.redis_key_prefix, size=10, restore_rate=1, clock=lambda: 1e6
    )
    replace_services(cost_bucket=bucket)
    normal = app_sharing_services(settings.model_copy(update={"compiled_reads": False}), app)
    level_key = f"{settings.redis_key_prefix}cost:ip:203.0.113.7"
    sent = params(STOREFRONT_PRODUCTS, {"first": 2})
    seen: dict[str, list[tuple[int, bytes, Any]]] = {}
    async with client_at(app, "203.0.113.7") as http:
        await teach(app, http, sent)
    answered_before = compiled_reads(app).answered
    for name, target in (("compiled", app), ("normal", normal)):
        await redis.delete(level_key)
        seen[name] = []
        async with client_at(target, "203.0.113.7") as http:
            for _ in range(4):
                await app.state.services.query_cache.invalidate_catalog()
                response = await http.get("/graphql", params=sent, headers={"x-request-id": "r"})
                level = await redis.hget(level_key, "level")
                seen[name].append((response.status_code, response.content, level))

    assert seen["compiled"] == seen["normal"]
    assert compiled_reads(app).answered == answered_before + 1  # the refusals went normal
    refused = [b"RATE_LIMITED" in content for _, content, _ in seen["compiled"]]
    assert refused == [False, True, True, True]


async def teach(
    app: Starlette,
    client: httpx.AsyncClient,
    sent: dict[str, str],
    headers: dict[str, str] | None = None,
) -> None:
    """Send a document once (compiled reads compile it the second time), and retire the entry
    its answer stored."""
    await client.get("/graphql", params=sent, headers=headers)
    await app.state.services.query_cache.invalidate_catalog()


async def test_a_document_is_compiled_the_second_time_it_is_asked_for(
    app: Starlette, client: httpx.AsyncClient, catalog: list[Product]
) -> None:
    reads = compiled_reads(app)
    sent = params(STOREFRONT_PRODUCT, {"slug": catalog[0].slug}, operationName="StorefrontProduct")
    before = reads.answered

    first = await client.get("/graphql", params=sent)
    await app.state.services.query_cache.invalidate_catalog()
    second = await client.get("/graphql", params=sent)

    assert reads.answered == before + 1
    assert first.content == second.content


async def test_a_refused_compiled_read_costs_mongodb_nothing_and_is_charged_once(
    app: Starlette,
    settings: Settings,
    redis: Redis,
    catalog: list[Product],
    replace_services: Callable[..., None],
    mongo_commands: MongoCommandCounter,
) -> None:
    bucket = QueryCostBucket(
        redis, key_prefix=settings.redis_key_prefix, size=10, restore_rate=1, clock=lambda: 1e6
    )
    replace_services(cost_bucket=bucket)
    level_key = f"{settings.redis_key_prefix}cost:ip:203.0.113.8"
    sent = params(STOREFRONT_PRODUCTS, {"first": 2})
    async with client_at(app, "203.0.113.8") as http:
        await teach(app, http, sent)
        await redis.delete(level_key)
        answered = await http.get("/graphql", params=sent)
        level = await redis.hget(level_key, "level")
        await app.state.services.query_cache.invalidate_catalog()
        mongo_commands.reset()
        refused = await http.get("/graphql", params=sent)

    assert answered.status_code == 200
    assert b"RATE_LIMITED" in refused.content
    # Refused before any read: the page would have been an aggregate.
    assert "aggregate" not in mongo_commands.commands
    # Nothing more was taken from the bucket than the normal path takes for the refusal.
    assert await redis.hget(level_key, "level") == level


async def test_oversized_documents_and_variables_are_not_kept(
    app: Starlette, client: httpx.AsyncClient, catalog: list[Product]
) -> None:
    reads = compiled_reads(app)
    padding = "#" + "x" * 9000 + "\n"
    long_document = params(padding + STOREFRONT_PRODUCTS, {"first": 2})
    long_variables = params(STOREFRONT_PRODUCTS, {"first": 2, "unused": "y" * 2000})
    before = (len(reads._seen), len(reads._plans), len(reads._prices))

    for sent in (long_document, long_variables, long_document, long_variables):
        response = await client.get("/graphql", params=sent)
        await app.state.services.query_cache.invalidate_catalog()
        assert response.status_code == 200

    assert (len(reads._seen), len(reads._plans), len(reads._prices)) == before
