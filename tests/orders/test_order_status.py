"""Moving orders: buyers cancel before packing, admins move orders along the transitions table."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from starlette.applications import Starlette

from documents.accounts import Role, User
from documents.catalog import Product
from documents.orders import Order, OrderStatus, PaymentMethod
from documents.stock import StockLine, take_stock
from tests.factories import global_id, make_category, make_order, make_product, make_user
from tests.support import access_token_for, error_codes, graphql, sent_emails

CANCEL = """
mutation($id: ID!, $reason: String) {
  cancelOrder(id: $id, reason: $reason) {
    order { status history { fromStatus toStatus note } }
    errors { field code currentStatus }
  }
}
"""
UPDATE = """
mutation($id: ID!, $status: OrderStatus!, $note: String) {
  updateOrderStatus(id: $id, status: $status, note: $note) {
    order { status nextStatuses }
    errors { field code currentStatus }
  }
}
"""


async def placed_order(stock: int = 5, quantity: int = 2, **fields: Any) -> tuple[Order, Product]:
    """A confirmed order whose stock was taken, as checkout leaves it."""
    product = await make_product(await make_category(), stock=stock)
    order = await make_order(await make_user(), (product, quantity), **fields)
    await take_stock(
        [StockLine(product.id, quantity)], reference=order.stock_reference, reason="order"
    )
    return order, product


async def stock_of(product: Product) -> int:
    found = await Product.get(product.id)
    assert found is not None
    return found.stock


async def buyer_token(app: Starlette, order: Order) -> str:
    buyer = await User.get(order.user_id)
    return await access_token_for(app, buyer)


async def test_a_buyer_cancels_a_confirmed_order_and_its_stock_comes_back(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    order, product = await placed_order(stock=5, quantity=2)
    assert await stock_of(product) == 3

    body = await graphql(
        client,
        CANCEL,
        {"id": global_id(order), "reason": "Ordered twice"},
        token=await buyer_token(app, order),
    )

    result = body["data"]["cancelOrder"]
    assert result["errors"] == []
    assert result["order"]["status"] == "CANCELLED"
    assert result["order"]["history"][-1] == {
        "fromStatus": "CONFIRMED",
        "toStatus": "CANCELLED",
        "note": "Ordered twice",
    }
    assert await stock_of(product) == 5


async def test_a_buyer_cannot_cancel_a_shipped_order_and_nothing_changes(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    order, product = await placed_order(status=OrderStatus.SHIPPED)

    body = await graphql(
        client, CANCEL, {"id": global_id(order)}, token=await buyer_token(app, order)
    )

    assert body["data"]["cancelOrder"]["errors"] == [
        {"field": "status", "code": "INVALID_ORDER_TRANSITION", "currentStatus": "SHIPPED"}
    ]
    stored = await Order.get(order.id)
    assert stored is not None
    assert stored.status is OrderStatus.SHIPPED
    assert await stock_of(product) == 3


async def test_someone_elses_order_is_not_found_and_unchanged(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    order, product = await placed_order()
    stranger = await access_token_for(app, await make_user())

    body = await graphql(client, CANCEL, {"id": global_id(order)}, token=stranger)
    anonymous = await graphql(client, CANCEL, {"id": global_id(order)})

    assert body["data"]["cancelOrder"]["errors"] == [
        {"field": "id", "code": "ORDER_NOT_FOUND", "currentStatus": None}
    ]
    assert error_codes(anonymous) == ["UNAUTHENTICATED"]
    stored = await Order.get(order.id)
    assert stored is not None
    assert stored.status is OrderStatus.CONFIRMED
    assert await stock_of(product) == 3


async def test_an_admin_moves_an_order_along_and_illegal_moves_are_refused(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    order, _ = await placed_order()
    token = await access_token_for(app, await make_user(role=Role.ADMIN))
    order_id = global_id(order)

    packed = await graphql(client, UPDATE, {"id": order_id, "status": "PACKED"}, token=token)
    skipped = await graphql(client, UPDATE, {"id": order_id, "status": "DELIVERED"}, token=token)
    shipped = await graphql(
        client, UPDATE, {"id": order_id, "status": "SHIPPED", "note": "AWB 123"}, token=token
    )

    assert packed["data"]["updateOrderStatus"]["order"] == {
        "status": "PACKED",
        "nextStatuses": ["SHIPPED", "CANCELLED"],
    }
    assert skipped["data"]["updateOrderStatus"]["errors"] == [
        {"field": "status", "code": "INVALID_ORDER_TRANSITION", "currentStatus": "PACKED"}
    ]
    assert shipped["data"]["updateOrderStatus"]["order"]["status"] == "SHIPPED"
    stored = await Order.get(order.id)
    assert stored is not None
    assert [(e.to_status, e.note) for e in stored.history] == [
        (OrderStatus.PACKED, ""),
        (OrderStatus.SHIPPED, "AWB 123"),
    ]


async def test_an_admin_cancels_a_packed_order_once_under_concurrent_requests(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    order, product = await placed_order(stock=5, quantity=2, status=OrderStatus.PACKED)
    token = await access_token_for(app, await make_user(role=Role.ADMIN))

    bodies = await asyncio.gather(
        *(graphql(client, CANCEL, {"id": global_id(order)}, token=token) for _ in range(6))
    )

    outcomes = sorted(
        body["data"]["cancelOrder"]["errors"][0]["code"]
        if body["data"]["cancelOrder"]["errors"]
        else "ok"
        for body in bodies
    )
    assert outcomes == ["INVALID_ORDER_TRANSITION"] * 5 + ["ok"]
    assert await stock_of(product) == 5


async def test_shipping_delivering_and_cancelling_each_send_one_email(
    app: Starlette, client: httpx.AsyncClient, settings: Any
) -> None:
    shipped, _ = await placed_order(status=OrderStatus.PACKED)
    cancelled, _ = await placed_order()
    token = await access_token_for(app, await make_user(role=Role.ADMIN))

    await graphql(client, UPDATE, {"id": global_id(shipped), "status": "SHIPPED"}, token=token)
    await graphql(client, UPDATE, {"id": global_id(shipped), "status": "DELIVERED"}, token=token)
    await graphql(client, UPDATE, {"id": global_id(shipped), "status": "DELIVERED"}, token=token)
    await graphql(client, CANCEL, {"id": global_id(cancelled)}, token=token)

    assert [e["subject"] for e in await sent_emails(app, settings, shipped.email)] == [
        f"Order #{shipped.number} is on its way",
        f"Order #{shipped.number} was delivered",
    ]
    assert [e["subject"] for e in await sent_emails(app, settings, cancelled.email)] == [
        f"Order #{cancelled.number} was cancelled"
    ]


async def test_an_admin_cannot_confirm_an_unpaid_order(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    order, _ = await placed_order(
        status=OrderStatus.PENDING_PAYMENT, payment_method=PaymentMethod.ONLINE
    )
    token = await access_token_for(app, await make_user(role=Role.ADMIN))

    body = await graphql(
        client, UPDATE, {"id": global_id(order), "status": "CONFIRMED"}, token=token
    )
    cancelled = await graphql(
        client, UPDATE, {"id": global_id(order), "status": "CANCELLED"}, token=token
    )

    assert body["data"]["updateOrderStatus"]["errors"] == [
        {"field": "status", "code": "INVALID_ORDER_TRANSITION", "currentStatus": "PENDING_PAYMENT"}
    ]
    assert cancelled["data"]["updateOrderStatus"]["order"]["nextStatuses"] == []
