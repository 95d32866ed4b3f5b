"""Every query the catalog API sends is answered from an index: no collection scan.

The test sends each documented combination of filters, sort orders, search and cursors through the
API, captures the exact MongoDB commands it produced, and asks MongoDB to explain each one.
"""

from __future__ import annotations

import itertools
from typing import Any

import httpx
from pymongo.asynchronous.database import AsyncDatabase

from documents.catalog import Category, Product
from documents.demo_catalog import load_demo_catalog
from settings import Settings
from tests.factories import global_id
from tests.support import MongoCommandCounter, graphql

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
_META_FIELDS = {"lsid", "$clusterTime", "$db", "txnNumber", "$readPreference"}


def winning_stages(explain: Any) -> list[str]:
    """The stage names of every winning plan in an explain output, however nested."""
    stages: list[str] = []

    def walk(node: Any, in_winning_plan: bool) -> None:
        if isinstance(node, dict):
            if in_winning_plan and "stage" in node:
                stages.append(node["stage"])
            for key, value in node.items():
                if key != "rejectedPlans":
                    walk(value, in_winning_plan or key in ("winningPlan", "queryPlan"))
        elif isinstance(node, list):
            for item in node:
                walk(item, in_winning_plan)

    walk(explain, False)
    return stages


async def explain_all(database: AsyncDatabase[Any], sent: list[tuple[str, dict[str, Any]]]) -> None:
    explained = 0
    for name, command in sent:
        if name not in ("find", "aggregate", "count"):
            continue
        body = {key: value for key, value in command.items() if key not in _META_FIELDS}
        explain = await database.command({"explain": body, "verbosity": "queryPlanner"})
        stages = winning_stages(explain)
        assert stages, (body, explain)
        assert "COLLSCAN" not in stages, (body, stages)
        explained += 1
    assert explained


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
