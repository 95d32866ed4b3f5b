"""Every query the catalog API sends is answered from an index: no collection scan.

The test sends each documented combination of filters, sort orders, search and cursors through the
API, captures the exact MongoDB commands it produced, and asks MongoDB to explain each one.
"""

from __future__ import annotations

import itertools
from typing import Any

import httpx

from documents.catalog import Category, Product
from documents.catalog_counts import CatalogCount
from documents.demo_catalog import load_demo_catalog
from documents.products import unpublish_archived_products
from settings import Settings
from tests.factories import global_id, make_product, make_review
from tests.support import (
    MongoCommandCounter,
    explain_all,
    graphql,
    winning_indexes,
    winning_stages,
)

LIST = """
query List($filter: ProductFilter, $sortBy: ProductSortInput, $search: String, $after: String) {
  products(first: 5, filter: $filter, sortBy: $sortBy, search: $search, after: $after) {
    totalCount pageInfo { endCursor } edges { node { name category { name } } }
  }
}
"""
LOOKUPS = """
query Lookups($slug: String!, $categorySlug: String!) {
  product(slug: $slug) { name subcategory { name parent { name } } }
  category(slug: $categorySlug) { name subcategories { name } products(first: 3) { totalCount } }
  categories(first: 5) { edges { node { name subcategories { name } } } }
}
"""


async def test_every_filter_and_sort_combination_uses_an_index(
    client: httpx.AsyncClient, mongo_commands: MongoCommandCounter, settings: Settings
) -> None:
    await load_demo_catalog(2000, public_url=settings.public_url, seed=11)
    category = await Category.find_one({"parent_id": None})
    assert category is not None
    subcategory = await Category.find_one({"parent_id": category.id})
    assert subcategory is not None
    filters: dict[str, Any] = {
        "categoryId": global_id(category),
        "subcategoryId": global_id(subcategory),
        "brand": (await Product.find_one({"category_id": category.id})).brand,  # type: ignore[union-attr]
        "priceMin": "100",
        "priceMax": "50000",
        "inStock": True,
        "minRating": 3.5,
    }
    sorts = [None] + [
        {"field": field, "direction": direction}
        for field in ("NAME", "PRICE", "CREATED_AT", "RATING")
        for direction in ("ASC", "DESC")
    ]
    mongo_commands.reset()

    # No filter, each filter alone, every pair, and all of them, under every sort order.
    for size in (0, 1, 2, len(filters)):
        for names in itertools.combinations(filters, size):
            for sort_by in sorts:
                variables = {"filter": {name: filters[name] for name in names}, "sortBy": sort_by}
                body = await graphql(client, LIST, variables)
                cursor = body["data"]["products"]["pageInfo"]["endCursor"]
                if cursor and size <= 1:
                    await graphql(client, LIST, {**variables, "after": cursor})

    database = Product.get_pymongo_collection().database
    await explain_all(database, mongo_commands.sent)


async def test_search_and_lookups_use_indexes(
    client: httpx.AsyncClient, mongo_commands: MongoCommandCounter, settings: Settings
) -> None:
    await load_demo_catalog(2000, public_url=settings.public_url, seed=11)
    product = await Product.find_one({"published": True})
    category = await Category.find_one({"parent_id": None})
    assert product is not None
    assert category is not None
    mongo_commands.reset()

    search = product.name.split()[-1]
    for sort_by in (None, {"field": "PRICE", "direction": "ASC"}):
        body = await graphql(client, LIST, {"search": search, "sortBy": sort_by})
        cursor = body["data"]["products"]["pageInfo"]["endCursor"]
        await graphql(client, LIST, {"search": search, "sortBy": sort_by, "after": cursor})
    await graphql(client, LOOKUPS, {"slug": product.slug, "categorySlug": category.slug})

    await explain_all(Product.get_pymongo_collection().database, mongo_commands.sent)


RATED = """
query Rated($filter: ProductFilter, $sortBy: ProductSortInput, $first: Int, $after: String,
            $last: Int, $before: String) {
  products(first: $first, after: $after, last: $last, before: $before, filter: $filter,
           sortBy: $sortBy) {
    totalCount pageInfo { startCursor endCursor } edges { node { name ratingAverage } }
  }
}
"""


async def test_min_rating_and_the_rating_sort_read_a_rating_index_in_order(
    client: httpx.AsyncClient, mongo_commands: MongoCommandCounter, settings: Settings
) -> None:
    await load_demo_catalog(500, public_url=settings.public_url, seed=11)
    category = await Category.find_one({"parent_id": None})
    assert category is not None
    # Ratings that reviews wrote (by the update pipeline), beside the imported ones.
    for stars in (5, 4, 2):
        await make_review(await make_product(category, ratings=[0, 0, 1, 0, 0]), rating=stars)
    filters: list[dict[str, Any]] = [
        {},
        {"minRating": 3.5},
        {"minRating": 4.2, "categoryId": global_id(category)},
    ]
    mongo_commands.reset()

    for product_filter in filters:
        for direction in ("ASC", "DESC"):
            variables = {
                "filter": product_filter,
                "sortBy": {"field": "RATING", "direction": direction},
            }
            first = await graphql(client, RATED, {**variables, "first": 5})
            info = first["data"]["products"]["pageInfo"]
            assert info["endCursor"], (variables, first)
            second = await graphql(
                client, RATED, {**variables, "first": 5, "after": info["endCursor"]}
            )
            back = await graphql(
                client,
                RATED,
                {
                    **variables,
                    "last": 5,
                    "before": second["data"]["products"]["pageInfo"]["startCursor"],
                },
            )
            assert back["data"]["products"]["edges"] == first["data"]["products"]["edges"]
            averages = [
                edge["node"]["ratingAverage"]
                for page in (first, second)
                for edge in page["data"]["products"]["edges"]
            ]
            assert averages == sorted(averages, reverse=direction == "DESC")
            assert all(average >= product_filter.get("minRating", 0) for average in averages)
        # minRating under the default order (newest first).
        await graphql(client, RATED, {"filter": product_filter, "first": 5})

    explained = await explain_all(Product.get_pymongo_collection().database, mongo_commands.sent)
    rated_pages = [
        (body, explain)
        for body, explain in explained
        if body.get("aggregate") == "products"
        and any("rating_average" in stage.get("$sort", {}) for stage in body["pipeline"])
    ]
    assert len(rated_pages) == len(filters) * 2 * 3
    for body, explain in rated_pages:
        # Sorted by the index itself: no blocking sort over the matching products.
        assert "SORT" not in winning_stages(explain), body
        assert {name.endswith("_rating_average") for name in winning_indexes(explain)} == {True}, (
            body
        )


COUNT = """
query Count($filter: ProductFilter) { products(first: 1, filter: $filter) { totalCount } }
"""


def is_count(command: dict[str, Any]) -> bool:
    return any("$count" in stage for stage in command.get("pipeline", []))


async def test_a_total_count_no_kept_count_answers_counts_index_keys(
    client: httpx.AsyncClient, mongo_commands: MongoCommandCounter, settings: Settings
) -> None:
    """`totalCount` of a list with a price range (no kept count answers it), over the whole
    catalog, a category and a subcategory, reads no document: the visibility filter is a key of
    every listing index, so MongoDB counts keys (COUNT_SCAN). An archived product stored
    published by an earlier version is upgraded first."""
    await load_demo_catalog(300, public_url=settings.public_url, seed=11)
    category = await Category.find_one({"parent_id": None})
    assert category is not None
    subcategory = await Category.find_one({"parent_id": category.id})
    assert subcategory is not None
    archived = await make_product(category, name="Archived long ago")
    await Product.get_pymongo_collection().update_one(
        {"_id": archived.id}, {"$set": {"published": True, "archived_at": archived.created_at}}
    )
    await unpublish_archived_products()
    visible = await Product.get_pymongo_collection().count_documents(
        {"published": True, "archived_at": None}
    )
    scopes = [{}, {"categoryId": global_id(category)}, {"subcategoryId": global_id(subcategory)}]
    mongo_commands.reset()

    counts = [
        (await graphql(client, COUNT, {"filter": {**scope, "priceMin": "0"}}))["data"]["products"][
            "totalCount"
        ]
        for scope in scopes
    ]

    assert counts[0] == visible  # the archived product is not counted
    assert counts[0] > counts[1] > counts[2] > 0
    database = Product.get_pymongo_collection().database
    counted = [
        explain
        for command, explain in await explain_all(database, mongo_commands.sent)
        if is_count(command)
    ]
    assert len(counted) == len(scopes)
    for explain in counted:
        stages = winning_stages(explain)
        assert "COUNT_SCAN" in stages, stages
        assert "FETCH" not in stages, stages


def reads_kept_counts(command: dict[str, Any]) -> bool:
    return command.get("aggregate") == CatalogCount.get_collection_name()


async def test_the_total_count_of_a_list_with_one_common_filter_reads_kept_counts_by_key(
    client: httpx.AsyncClient, mongo_commands: MongoCommandCounter, settings: Settings
) -> None:
    """`totalCount` of the whole catalog, a category and a subcategory, alone and with a brand,
    in stock, out of stock or a minimum rating of whole or half stars, reads one or two kept
    counts by key (documents/catalog_counts.py), whatever the catalog's size: no count of
    products is sent. Two filters together, or a minimum rating between half stars, are counted
    over a listing index."""
    await load_demo_catalog(300, public_url=settings.public_url, seed=11)
    category = await Category.find_one({"parent_id": None})
    assert category is not None
    subcategory = await Category.find_one({"parent_id": category.id})
    assert subcategory is not None
    brand = (await Product.find_one({"subcategory_id": subcategory.id})).brand  # type: ignore[union-attr]
    scopes: list[tuple[dict[str, Any], dict[str, Any]]] = [
        ({}, {}),
        ({"categoryId": global_id(category)}, {"category_id": category.id}),
        ({"subcategoryId": global_id(subcategory)}, {"subcategory_id": subcategory.id}),
    ]
    filters: list[tuple[dict[str, Any], dict[str, Any]]] = [
        ({}, {}),
        ({"brand": brand}, {"brand": brand}),
        ({"inStock": True}, {"stock": {"$gt": 0}}),
        ({"inStock": False}, {"stock": 0}),
        ({"minRating": 4}, {"rating_average": {"$gte": 4}}),
        ({"minRating": 3.5}, {"rating_average": {"$gte": 3.5}}),
    ]
    products = Product.get_pymongo_collection()
    database = products.database
    for (scope, scope_condition), (given, condition) in itertools.product(scopes, filters):
        expected = await products.count_documents(
            {"published": True, **scope_condition, **condition}
        )
        mongo_commands.reset()

        body = await graphql(client, COUNT, {"filter": {**scope, **given}})

        assert body["data"]["products"]["totalCount"] == expected, (scope, given)
        explained = await explain_all(database, mongo_commands.sent)
        assert not [command for command, _ in explained if is_count(command)], (scope, given)
        kept = [explain for command, explain in explained if reads_kept_counts(command)]
        assert len(kept) == 1, (scope, given)
        assert winning_indexes(kept[0]) == {"_id_"}, (scope, given)

    for given in ({"brand": brand, "inStock": True}, {"minRating": 4.2}):
        mongo_commands.reset()
        await graphql(client, COUNT, {"filter": {"categoryId": global_id(category), **given}})
        explained = await explain_all(database, mongo_commands.sent)
        counted = [explain for command, explain in explained if is_count(command)]
        assert len(counted) == 1, given
        assert {name.startswith("list_category_id_") for name in winning_indexes(counted[0])} == {
            True
        }, given
