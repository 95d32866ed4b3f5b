"""Relations resolve through DataLoaders: a page costs a constant number of MongoDB commands."""

from __future__ import annotations

import httpx

from documents.demo_catalog import load_demo_catalog
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
    client: httpx.AsyncClient, mongo_commands: MongoCommandCounter
) -> None:
    await load_demo_catalog(300, seed=7)
    mongo_commands.reset()

    body = await graphql(client, PAGE_WITH_RELATIONS)

    assert len(body["data"]["products"]["edges"]) == 100
    # products page, product count, categories page, categories by id (one batch),
    # subcategories by parent (one batch).
    assert sorted(mongo_commands.commands) == sorted(
        ["find", "aggregate", "find", "find", "find"]
    ), mongo_commands.commands
