"""`node(id)` and `nodes(ids)` resolve any entity by global ID."""

from __future__ import annotations

import httpx
from strawberry import relay

from tests.factories import global_id, make_category, make_product
from tests.support import MongoCommandCounter, error_codes, graphql

NODE = """
query Node($id: ID!) {
  node(id: $id) { __typename id ... on Product { name } ... on Category { slug } }
}
"""
NODES = """
query Nodes($ids: [ID!]!) { nodes(ids: $ids) { __typename id ... on Product { name } } }
"""


async def test_resolves_products_and_categories(client: httpx.AsyncClient) -> None:
    shoes = await make_category("Shoes", slug="shoes")
    runner = await make_product(shoes, name="Runner")

    product = await graphql(client, NODE, {"id": global_id(runner)})
    category = await graphql(client, NODE, {"id": global_id(shoes)})

    assert product["data"]["node"] == {
        "__typename": "Product",
        "id": global_id(runner),
        "name": "Runner",
    }
    assert category["data"]["node"] == {
        "__typename": "Category",
        "id": global_id(shoes),
        "slug": "shoes",
    }


async def test_missing_and_hidden_nodes_are_null(client: httpx.AsyncClient) -> None:
    shoes = await make_category("Shoes")
    hidden = await make_product(shoes, published=False)
    missing = str(relay.GlobalID("Product", "0123456789abcdef01234567"))

    assert (await graphql(client, NODE, {"id": missing}))["data"] == {"node": None}
    assert (await graphql(client, NODE, {"id": global_id(hidden)}))["data"] == {"node": None}


async def test_malformed_and_unknown_type_ids_are_refused(client: httpx.AsyncClient) -> None:
    for bad_id in ("garbage", "", str(relay.GlobalID("Invoice", "0123456789abcdef01234567"))):
        body = await graphql(client, NODE, {"id": bad_id})
        assert body["data"] == {"node": None}
        assert error_codes(body) == ["BAD_USER_INPUT"], bad_id


async def test_nodes_keeps_order_and_batches_lookups(
    client: httpx.AsyncClient, mongo_commands: MongoCommandCounter
) -> None:
    shoes = await make_category("Shoes")
    products = [await make_product(shoes, name=f"P{n}") for n in range(5)]
    ids = [global_id(product) for product in reversed(products)]
    mongo_commands.reset()

    body = await graphql(client, NODES, {"ids": ids})

    assert [node["name"] for node in body["data"]["nodes"]] == ["P4", "P3", "P2", "P1", "P0"]
    assert mongo_commands.commands == ["find"]


async def test_nodes_refuses_more_than_100_ids(client: httpx.AsyncClient) -> None:
    ids = [str(relay.GlobalID("Product", "0123456789abcdef01234567"))] * 101

    body = await graphql(client, NODES, {"ids": ids})

    assert error_codes(body) == ["BAD_USER_INPUT"]
