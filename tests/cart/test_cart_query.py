"""The `cart` query: whose cart, priced now, flagged lines, and never served from the cache."""

from __future__ import annotations

from datetime import timedelta

import httpx
from strawberry import relay

from documents.carts import Cart
from documents.common import utc_now
from tests.cart.cart_api import CART, add_line, stored_carts, view_cart
from tests.factories import (
    DEFAULT_PASSWORD,
    global_id,
    make_category,
    make_guest_cart,
    make_product,
    make_user,
    make_user_cart,
)
from tests.support import graphql, login

NODE = "query Node($id: ID!) { node(id: $id) { __typename id ... on Cart { lines { quantity } } } }"


async def test_a_user_without_a_cart_sees_an_empty_one_and_none_is_created(
    client: httpx.AsyncClient,
) -> None:
    user = await make_user()
    token = (await login(client, user.email, DEFAULT_PASSWORD))["accessToken"]

    cart = await view_cart(client, token=token)

    assert cart == {
        "id": str(relay.GlobalID("Cart", str(user.id))),
        "version": 0,
        "updatedAt": None,
        "expiresAt": None,
        "itemCount": 0,
        "subtotal": {"amount": "0.00", "currency": "INR"},
        "discount": {"amount": "0.00"},
        "shipping": {"amount": "0.00"},
        "total": {"amount": "0.00"},
        "lines": [],
    }
    assert await stored_carts() == []


async def test_the_empty_cart_keeps_its_id_once_something_is_added(
    client: httpx.AsyncClient,
) -> None:
    shoes = await make_product(await make_category())
    user = await make_user()
    token = (await login(client, user.email, DEFAULT_PASSWORD))["accessToken"]
    empty = await view_cart(client, token=token)

    added = await add_line(client, shoes, token=token)

    assert empty is not None
    assert added["cart"]["id"] == empty["id"]


async def test_a_guest_sees_the_cart_of_their_token_and_nothing_without_one(
    client: httpx.AsyncClient,
) -> None:
    shoes = await make_product(await make_category())
    cart, cart_token = await make_guest_cart([(shoes, 2)])
    _, expired_token = await make_guest_cart([(shoes, 1)], expires_in=timedelta(seconds=-1))

    mine = await view_cart(client, cart_token=cart_token)
    by_header = await client.post(
        "/graphql", json={"query": CART}, headers={"x-cart-token": cart_token}
    )

    assert mine is not None
    assert mine["id"] == global_id(cart)
    assert [line["quantity"] for line in mine["lines"]] == [2]
    assert mine["expiresAt"] is not None
    assert by_header.json()["data"]["cart"] == mine
    assert await view_cart(client) is None
    assert await view_cart(client, cart_token="made-up") is None
    assert await view_cart(client, cart_token=expired_token) is None


async def test_lines_that_cannot_be_bought_are_flagged_and_cost_nothing(
    client: httpx.AsyncClient,
) -> None:
    category = await make_category()
    shoes = await make_product(category, name="Shoes", price=300_00, stock=10)
    socks = await make_product(category, name="Socks", price=50_00, stock=1)
    hat = await make_product(category, name="Hat", price=100_00)
    scarf = await make_product(category, name="Scarf", price=100_00)
    user = await make_user()
    token = (await login(client, user.email, DEFAULT_PASSWORD))["accessToken"]
    await make_user_cart(user, [(shoes, 1), (socks, 3), (hat, 1), (scarf, 1)])
    await hat.set({"published": False, "archived_at": utc_now()})
    await scarf.delete()

    cart = await view_cart(client, token=token)

    assert cart is not None
    assert [
        (
            line["product"]["name"] if line["product"] else None,
            line["quantity"],
            line["unitPrice"]["amount"],
            line["lineTotal"]["amount"],
            line["problem"],
            line["availableQuantity"],
        )
        for line in cart["lines"]
    ] == [
        ("Shoes", 1, "300.00", "300.00", None, 10),
        ("Socks", 3, "50.00", "150.00", "INSUFFICIENT_STOCK", 1),
        ("Hat", 1, "0.00", "0.00", "UNAVAILABLE", 0),
        (None, 1, "0.00", "0.00", "UNAVAILABLE", 0),
    ]
    # Only what can be bought counts; 450.00 is under the free-shipping threshold of 499.00.
    assert cart["itemCount"] == 4
    assert (cart["subtotal"]["amount"], cart["shipping"]["amount"], cart["total"]["amount"]) == (
        "450.00",
        "49.00",
        "499.00",
    )


async def test_shipping_is_free_from_the_threshold_on(client: httpx.AsyncClient) -> None:
    category = await make_category()
    exactly = await make_product(category, price=499_00)
    discounted = await make_product(category, price=550_00, discount_percent=10)
    token = (await login(client, (await make_user()).email, DEFAULT_PASSWORD))["accessToken"]

    at_threshold = (await add_line(client, exactly, token=token))["cart"]
    await graphql(client, "mutation { clearCart { errors { code } } }", token=token)
    # 550.00 listed but 495.00 to pay: the threshold is on what is paid for the goods.
    under = (await add_line(client, discounted, token=token))["cart"]

    assert (at_threshold["shipping"]["amount"], at_threshold["total"]["amount"]) == (
        "0.00",
        "499.00",
    )
    assert (under["discount"]["amount"], under["shipping"]["amount"], under["total"]["amount"]) == (
        "55.00",
        "49.00",
        "544.00",
    )


async def test_a_cart_is_never_served_from_the_cache(client: httpx.AsyncClient) -> None:
    shoes = await make_product(await make_category())
    cart, cart_token = await make_guest_cart([(shoes, 1)])
    as_node = {"query": NODE, "variables": {"id": global_id(cart)}}
    headers = {"x-cart-token": cart_token}

    first = await graphql(client, CART, {"cartToken": cart_token})
    first_node = (await client.post("/graphql", json=as_node, headers=headers)).json()
    await Cart.get_pymongo_collection().update_one(
        {"_id": cart.id}, {"$set": {"lines.0.quantity": 4}}
    )
    second = await graphql(client, CART, {"cartToken": cart_token})
    second_node = (await client.post("/graphql", json=as_node, headers=headers)).json()

    # `cart` is never looked up; `node` is, and a cart read through it is never stored.
    assert first["extensions"]["cache"] == second["extensions"]["cache"] == "BYPASS"
    assert first_node["extensions"]["cache"] == second_node["extensions"]["cache"] == "MISS"
    assert [line["quantity"] for line in second["data"]["cart"]["lines"]] == [4]
    assert second_node["data"]["node"]["lines"] == [{"quantity": 4}]


async def test_a_cart_node_is_visible_to_its_owner_only(client: httpx.AsyncClient) -> None:
    shoes = await make_product(await make_category())
    owner, other = await make_user(), await make_user()
    owner_token = (await login(client, owner.email, DEFAULT_PASSWORD))["accessToken"]
    other_token = (await login(client, other.email, DEFAULT_PASSWORD))["accessToken"]
    user_cart = await make_user_cart(owner, [(shoes, 2)])
    guest_cart, cart_token = await make_guest_cart([(shoes, 3)])

    async def node(cart_id: str, **headers: str) -> object:
        response = await client.post(
            "/graphql",
            json={"query": NODE, "variables": {"id": cart_id}},
            headers={name.replace("_", "-"): value for name, value in headers.items()},
        )
        body = response.json()
        assert "errors" not in body, body
        return body["data"]["node"]

    assert await node(global_id(user_cart), authorization=f"Bearer {owner_token}") == {
        "__typename": "Cart",
        "id": global_id(user_cart),
        "lines": [{"quantity": 2}],
    }
    assert await node(global_id(user_cart), authorization=f"Bearer {other_token}") is None
    assert await node(global_id(user_cart)) is None
    assert await node(global_id(user_cart), x_cart_token=cart_token) is None
    assert await node(global_id(guest_cart), x_cart_token=cart_token) == {
        "__typename": "Cart",
        "id": global_id(guest_cart),
        "lines": [{"quantity": 3}],
    }
    assert await node(global_id(guest_cart), x_cart_token="wrong") is None
    assert await node(global_id(guest_cart)) is None
    assert await node(global_id(guest_cart), authorization=f"Bearer {owner_token}") is None
