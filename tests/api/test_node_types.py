"""Every type that implements `Node` resolves through `node(id)` and `nodes(ids)`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
from graphql import GraphQLInterfaceType
from strawberry import relay

from documents.accounts import AuthSession
from schema.node import NODE_RESOLVERS
from schema.root import build_schema
from tests.factories import (
    DEFAULT_PASSWORD,
    global_id,
    make_address,
    make_category,
    make_order,
    make_product,
    make_review,
    make_stock_movement,
    make_user,
    make_user_cart,
)
from tests.support import MongoCommandCounter, admin_token, graphql, login, user_token

NODE = "query Node($id: ID!) { node(id: $id) { __typename id } }"
NODES = "query Nodes($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"
STOCK_MOVEMENT_NODE = """
query Node($id: ID!) {
  node(id: $id) { __typename id ... on StockMovement { delta before after reason actorId } }
}
"""

# A builder stores one entity of its type and says who may see it: (global ID, bearer token or
# None for anonymous). It gets an admin's token for the types only admins may see.
Builder = Callable[[httpx.AsyncClient, str], Awaitable[tuple[str, str | None]]]


async def _product(client: httpx.AsyncClient, admin: str) -> tuple[str, str | None]:
    return global_id(await make_product(await make_category())), None


async def _category(client: httpx.AsyncClient, admin: str) -> tuple[str, str | None]:
    return global_id(await make_category()), None


async def _user(client: httpx.AsyncClient, admin: str) -> tuple[str, str | None]:
    return global_id(await make_user()), admin


async def _session(client: httpx.AsyncClient, admin: str) -> tuple[str, str | None]:
    owner = await make_user()
    token = (await login(client, owner.email, DEFAULT_PASSWORD))["accessToken"]
    session = await AuthSession.find_one(AuthSession.user_id == owner.id)
    assert session is not None
    return global_id(session), token


async def _stock_movement(client: httpx.AsyncClient, admin: str) -> tuple[str, str | None]:
    product = await make_product(await make_category())
    return global_id(await make_stock_movement(product)), admin


async def _order(client: httpx.AsyncClient, admin: str) -> tuple[str, str | None]:
    buyer = await make_user()
    order = await make_order(buyer, (await make_product(await make_category()), 1))
    return global_id(order), admin


async def _address(client: httpx.AsyncClient, admin: str) -> tuple[str, str | None]:
    owner = await make_user()
    token = (await login(client, owner.email, DEFAULT_PASSWORD))["accessToken"]
    return global_id(await make_address(owner)), token


async def _cart(client: httpx.AsyncClient, admin: str) -> tuple[str, str | None]:
    owner = await make_user()
    token = (await login(client, owner.email, DEFAULT_PASSWORD))["accessToken"]
    cart = await make_user_cart(owner, [(await make_product(await make_category()), 1)])
    return global_id(cart), token


async def _review(client: httpx.AsyncClient, admin: str) -> tuple[str, str | None]:
    return global_id(await make_review(await make_product(await make_category()))), None


BUILDERS: dict[str, Builder] = {
    "Product": _product,
    "Category": _category,
    "User": _user,
    "Session": _session,
    "StockMovement": _stock_movement,
    "Order": _order,
    "Address": _address,
    "Cart": _cart,
    "Review": _review,
}


def node_type_names() -> set[str]:
    """The object types that implement `Node` in the schema the API serves."""
    graphql_schema = build_schema()._schema
    node = graphql_schema.get_type("Node")
    assert isinstance(node, GraphQLInterfaceType)
    return {object_type.name for object_type in graphql_schema.get_possible_types(node)}


async def test_every_node_type_resolves_through_node_and_nodes(
    client: httpx.AsyncClient,
) -> None:
    types = node_type_names()
    without_builder = sorted(types - BUILDERS.keys())
    assert not without_builder, (
        f"Node types without a builder in {__name__}.BUILDERS: {without_builder}. "
        "Add one, and a resolver in schema.node.NODE_RESOLVERS."
    )
    assert not BUILDERS.keys() - types, "BUILDERS names types that no longer implement Node"
    assert set(NODE_RESOLVERS) == types
    admin = await admin_token(client)

    for type_name in sorted(types):
        entity_id, token = await BUILDERS[type_name](client, admin)
        expected = {"__typename": type_name, "id": entity_id}

        one = await graphql(client, NODE, {"id": entity_id}, token=token)
        many = await graphql(client, NODES, {"ids": [entity_id]}, token=token)

        assert "errors" not in one, (type_name, one)
        assert "errors" not in many, (type_name, many)
        assert one["data"] == {"node": expected}, type_name
        assert many["data"] == {"nodes": [expected]}, type_name


async def test_a_stock_movement_node_is_visible_to_admins_only(client: httpx.AsyncClient) -> None:
    boss = await make_user("boss@example.com")
    product = await make_product(await make_category(), stock=10)
    movement = await make_stock_movement(
        product, delta=-3, before=10, after=7, reason="damaged", actor_id=boss.id
    )
    admin = await admin_token(client)
    customer = await user_token(client)

    async def seen_by(token: str | None) -> object:
        body = await graphql(client, STOCK_MOVEMENT_NODE, {"id": global_id(movement)}, token=token)
        assert "errors" not in body, body
        return body["data"]["node"]

    assert await seen_by(admin) == {
        "__typename": "StockMovement",
        "id": global_id(movement),
        "delta": -3,
        "before": 10,
        "after": 7,
        "reason": "damaged",
        "actorId": global_id(boss),
    }
    assert await seen_by(customer) is None
    assert await seen_by(None) is None
    missing = str(relay.GlobalID("StockMovement", "0123456789abcdef01234567"))
    assert (await graphql(client, NODE, {"id": missing}, token=admin))["data"] == {"node": None}


async def test_stock_movement_nodes_load_in_one_query_and_are_never_cached(
    client: httpx.AsyncClient, mongo_commands: MongoCommandCounter
) -> None:
    product = await make_product(await make_category())
    movements = [await make_stock_movement(product, reason=f"count {n}") for n in range(3)]
    ids = [global_id(movement) for movement in reversed(movements)]
    admin = await admin_token(client)

    mongo_commands.reset()
    first = await graphql(client, NODES, {"ids": ids}, token=admin)
    second = await graphql(client, NODES, {"ids": ids}, token=admin)

    assert [node["id"] for node in first["data"]["nodes"]] == ids
    assert second["data"] == first["data"]
    movement_queries = [
        command for name, command in mongo_commands.sent if command.get(name) == "stock_movements"
    ]
    # One batched find per request: the second request was not answered from the cache.
    assert [command["find"] for command in movement_queries] == ["stock_movements"] * 2
    assert [first["extensions"]["cache"], second["extensions"]["cache"]] == ["MISS", "MISS"]
