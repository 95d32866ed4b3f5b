"""The cart operations as the tests call them: GraphQL documents and small helpers."""

from __future__ import annotations

from typing import Any

import httpx

from documents.carts import Cart
from tests.factories import global_id
from tests.support import graphql

CART_FIELDS = """
  id version updatedAt expiresAt itemCount
  subtotal { amount currency } discount { amount } shipping { amount } total { amount }
  lines { id quantity unitPrice { amount } lineTotal { amount } problem availableQuantity
          product { id name } }
"""
CART = f"query Cart($cartToken: String) {{ cart(cartToken: $cartToken) {{ {CART_FIELDS} }} }}"
ERRORS = "errors { field code message available }"
ADD_CART_LINE = f"""
mutation Add($input: AddCartLineInput!) {{
  addCartLine(input: $input) {{ cartToken cart {{ {CART_FIELDS} }} {ERRORS} }}
}}
"""
UPDATE_CART_LINE = f"""
mutation Update($input: UpdateCartLineInput!) {{
  updateCartLine(input: $input) {{ cart {{ {CART_FIELDS} }} {ERRORS} }}
}}
"""
REMOVE_CART_LINE = f"""
mutation Remove($input: RemoveCartLineInput!) {{
  removeCartLine(input: $input) {{ cart {{ {CART_FIELDS} }} {ERRORS} }}
}}
"""
CLEAR_CART = f"""
mutation Clear($cartToken: String) {{
  clearCart(cartToken: $cartToken) {{ cart {{ {CART_FIELDS} }} {ERRORS} }}
}}
"""
MERGE_CART = f"""
mutation Merge($cartToken: String) {{
  mergeCart(cartToken: $cartToken) {{ cart {{ {CART_FIELDS} }} {ERRORS} }}
}}
"""


async def add_line(
    client: httpx.AsyncClient,
    product: Any,
    quantity: int = 1,
    *,
    token: str | None = None,
    cart_token: str | None = None,
) -> dict[str, Any]:
    """The `addCartLine` payload, as a user (bearer `token`) or a guest (`cart_token`)."""
    variables = {"productId": global_id(product), "quantity": quantity, "cartToken": cart_token}
    body = await graphql(client, ADD_CART_LINE, {"input": variables}, token=token)
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["addCartLine"]
    return payload


async def update_line(
    client: httpx.AsyncClient,
    line_id: str,
    quantity: int,
    *,
    token: str | None = None,
    cart_token: str | None = None,
) -> dict[str, Any]:
    variables = {"lineId": line_id, "quantity": quantity, "cartToken": cart_token}
    body = await graphql(client, UPDATE_CART_LINE, {"input": variables}, token=token)
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["updateCartLine"]
    return payload


async def remove_line(
    client: httpx.AsyncClient,
    line_id: str,
    *,
    token: str | None = None,
    cart_token: str | None = None,
) -> dict[str, Any]:
    variables = {"lineId": line_id, "cartToken": cart_token}
    body = await graphql(client, REMOVE_CART_LINE, {"input": variables}, token=token)
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["removeCartLine"]
    return payload


async def view_cart(
    client: httpx.AsyncClient, *, token: str | None = None, cart_token: str | None = None
) -> dict[str, Any] | None:
    """The `cart` query's answer."""
    body = await graphql(client, CART, {"cartToken": cart_token}, token=token)
    assert "errors" not in body, body
    cart: dict[str, Any] | None = body["data"]["cart"]
    return cart


def errors(payload: dict[str, Any]) -> list[tuple[str | None, str, int | None]]:
    """(field, code, available) of each error in a cart payload."""
    return [(e["field"], e["code"], e["available"]) for e in payload["errors"]]


def quantities(cart: dict[str, Any] | None) -> dict[str, int]:
    """Product global ID to quantity, for each line of a cart answer."""
    assert cart is not None
    return {line["product"]["id"]: line["quantity"] for line in cart["lines"]}


async def stored_carts() -> list[dict[str, Any]]:
    """Every stored cart, to compare before and after a refused change."""
    return await Cart.get_pymongo_collection().find({}, sort=[("_id", 1)]).to_list()
