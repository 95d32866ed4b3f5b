"""Relations resolve through DataLoaders: a page costs a constant number of MongoDB commands."""

from __future__ import annotations

import httpx

from documents.demo_catalog import load_demo_catalog
from settings import Settings
from tests.support import MongoCommandCounter, graphql

PAGE_WITH_RELATIONS = """
{
  products(first: 100) {
    totalCount
    edges { node { name category { name subcategories { name } } subcategory { name parent { name } } } }
  }
  categories(first: 20) { edges { node { name subcategories { name } } } }
}
"""


async def test_a_100_product_page_with_categories_costs_a_constant_number_of_commands(
    client: httpx.AsyncClient, mongo_commands: MongoCommandCounter, settings: Settings
) -> None:
    await load_demo_catalog(300, public_url=settings.public_url, seed=7)
    mongo_commands.reset()

    body = await graphql(client, PAGE_WITH_RELATIONS)

    assert len(body["data"]["products"]["edges"]) == 100
    # products page, product count, categories page (aggregations), categories by id (one
    # batch), subcategories by parent (one batch).
    assert sorted(mongo_commands.commands) == sorted(
        ["aggregate", "aggregate", "aggregate", "find", "find"]
    ), mongo_commands.commands


NESTED_PAGES = """
{
  categories(first: 20) {
    edges { node { name products(first: 5) { totalCount edges { node { name category { name } } } } } }
  }
}
"""


async def test_the_product_pages_of_many_categories_are_fetched_in_one_command(
    client: httpx.AsyncClient, mongo_commands: MongoCommandCounter, settings: Settings
) -> None:
    await load_demo_catalog(300, public_url=settings.public_url, seed=7)
    mongo_commands.reset()

    body = await graphql(client, NESTED_PAGES)

    categories = body["data"]["categories"]["edges"]
    assert len(categories) > 10
    assert all(len(edge["node"]["products"]["edges"]) == 5 for edge in categories)
    # categories page, every category's product page (one batch), every category's product count
    # (one batch), the products' categories (one batch).
    assert sorted(mongo_commands.commands) == sorted(
        ["aggregate", "aggregate", "aggregate", "find"]
    ), mongo_commands.commands
