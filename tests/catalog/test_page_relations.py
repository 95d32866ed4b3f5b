"""A product page loads the categories it shows with the page: one batch, only those the query
surely reads, the same answer as loading them field by field."""

from __future__ import annotations

import httpx

from documents.demo_catalog import load_demo_catalog
from settings import Settings
from tests.support import MongoCommandCounter, graphql

STOREFRONT_PAGE = """
{ products(first: 20) { edges { node { name category { name } } } } }
"""
BY_FRAGMENT = """
query { products(first: 20) { edges { ...Row } } }
fragment Row on ProductEdge { node { name ... on Product { category { name } } } }
"""
MAYBE_CATEGORY = """
query($withCategory: Boolean!) {
  products(first: 20) { edges { node { name category @include(if: $withCategory) { name } } } }
}
"""
ONE_BY_ONE = """
query($id: ID!) { product(id: $id) { name category { name } subcategory { name } } }
"""
BOTH = """
{ products(first: 20) { edges { node { id name category { name } subcategory { name } } } } }
"""


async def test_a_page_and_its_categories_cost_two_commands(
    client: httpx.AsyncClient, mongo_commands: MongoCommandCounter, settings: Settings
) -> None:
    await load_demo_catalog(60, public_url=settings.public_url, seed=5)

    for document in (STOREFRONT_PAGE, BY_FRAGMENT):
        mongo_commands.reset()
        body = await graphql(client, document)

        assert "errors" not in body, body
        edges = body["data"]["products"]["edges"]
        assert len(edges) == 20
        assert all(edge["node"]["category"]["name"] for edge in edges)
        assert sorted(mongo_commands.commands) == ["aggregate", "find"], mongo_commands.commands


async def test_a_category_a_directive_may_skip_is_read_only_when_included(
    client: httpx.AsyncClient, mongo_commands: MongoCommandCounter, settings: Settings
) -> None:
    await load_demo_catalog(60, public_url=settings.public_url, seed=5)

    mongo_commands.reset()
    skipped = await graphql(client, MAYBE_CATEGORY, {"withCategory": False})

    assert all("category" not in edge["node"] for edge in skipped["data"]["products"]["edges"])
    assert mongo_commands.commands == ["aggregate"]

    mongo_commands.reset()
    included = await graphql(client, MAYBE_CATEGORY, {"withCategory": True})

    assert all(edge["node"]["category"] for edge in included["data"]["products"]["edges"])
    assert sorted(mongo_commands.commands) == ["aggregate", "find"]


async def test_categories_loaded_with_the_page_are_those_of_each_product(
    client: httpx.AsyncClient, mongo_commands: MongoCommandCounter, settings: Settings
) -> None:
    await load_demo_catalog(60, public_url=settings.public_url, seed=5)

    mongo_commands.reset()
    page = await graphql(client, BOTH)

    assert sorted(mongo_commands.commands) == ["aggregate", "find"]
    nodes = [edge["node"] for edge in page["data"]["products"]["edges"]]
    assert any(node["subcategory"] for node in nodes)
    for node in nodes:
        alone = await graphql(client, ONE_BY_ONE, {"id": node["id"]})
        assert alone["data"]["product"] == {
            "name": node["name"],
            "category": node["category"],
            "subcategory": node["subcategory"],
        }
