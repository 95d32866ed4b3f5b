"""Apollo Client with the persisted-queries link (hashed queries over GET) runs the storefront
flow against the live server: browse, search, sign in, refresh with the cookie, add to cart,
address, cash-on-delivery order (`storefront.mjs`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from documents.accounts import User
from documents.addresses import AddressBook
from documents.catalog import Product
from documents.orders import Order, OrderStatus, PaymentMethod
from integrations.local_servers import LocalServer
from tests.clients.conftest import run_node
from tests.factories import DEFAULT_PASSWORD, global_id, make_category, make_product, make_user
from tests.live_server import LiveServer

STOCK = 10
QUERIES = {
    "StorefrontProducts",
    "StorefrontProduct",
    "StorefrontSearch",
    "StorefrontMe",
    "StorefrontCart",
    "StorefrontMyOrders",
}
MUTATIONS = {
    "StorefrontLogin",
    "StorefrontRefresh",
    "StorefrontAddToCart",
    "StorefrontAddAddress",
    "StorefrontPlaceOrder",
}
# The API's request log line (commerce.access), one per request.
ACCESS_LOG_LINE = re.compile(r"commerce\.access \[[0-9a-f]*\] (GET|POST) /graphql ")


async def given_a_shop() -> tuple[Product, User]:
    """One shoe in stock (and a bag that is not, which the in-stock listing leaves out), and a
    verified buyer who can sign in."""
    category = await make_category("Footwear")
    shoe = await make_product(category, name="Trail Running Shoe", stock=STOCK, price=249_900)
    await make_product(category, name="Canvas Tote", stock=0)
    buyer = await make_user("asha@example.com", email_verified=True)
    return shoe, buyer


async def run_storefront(clients: Path, server: LiveServer) -> dict[str, Any]:
    return await run_node(
        clients / "storefront.mjs", server.graphql_url, "asha@example.com", DEFAULT_PASSWORD
    )


def attempts_by_operation(requests: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    by_operation: dict[str, list[dict[str, Any]]] = {}
    for request in requests:
        by_operation.setdefault(request["operationName"], []).append(request)
    return by_operation


def assert_registered_each_query(requests: list[dict[str, Any]]) -> None:
    """Each query went first as a GET with only its hash, got PERSISTED_QUERY_NOT_FOUND, and was
    sent again with its document and hash; later uses of it went by hash alone."""
    for name, attempts in attempts_by_operation(requests).items():
        if name not in QUERIES:
            continue
        assert len(attempts) >= 2, attempts
        first, registration, *later = attempts
        assert (first["method"], first["document"], first["notFound"]) == ("GET", False, True), (
            attempts
        )
        assert registration["document"] is True, attempts
        assert registration["hash"] == first["hash"], attempts
        assert (registration["status"], registration["notFound"]) == (200, False), attempts
        for use in later:
            assert (use["method"], use["document"], use["notFound"]) == ("GET", False, False), (
                attempts
            )


def assert_queries_by_hash_over_get(requests: list[dict[str, Any]]) -> None:
    """Every query went as a GET with only its hash and was known; every mutation was a POST."""
    for request in requests:
        assert request["status"] == 200, request
        if request["operationName"] in QUERIES:
            assert (request["method"], request["document"], request["notFound"]) == (
                "GET",
                False,
                False,
            ), request
        else:
            assert request["operationName"] in MUTATIONS
            assert request["method"] == "POST", request


async def test_storefront_flow_places_an_order_with_hashed_queries_over_get(
    node_clients: Path, live_api: LiveServer
) -> None:
    shoe, buyer = await given_a_shop()
    log_start = live_api.log_size()

    summary = await run_storefront(node_clients, live_api)

    # The order the client saw is in MongoDB, the buyer's, and took the stock.
    assert summary["product"] == {"id": global_id(shoe), "slug": shoe.slug, "stockSeen": STOCK}
    order = await Order.find_one(Order.number == summary["order"]["number"])
    assert order is not None
    assert summary["order"]["id"] == global_id(order)
    assert order.user_id == buyer.id
    assert order.payment_method is PaymentMethod.COD
    assert order.status is OrderStatus(summary["order"]["status"])
    assert [(line.product_id, line.quantity) for line in order.lines] == [(shoe.id, 2)]
    assert summary["order"]["total"] == {"amount": "4998.00", "currency": "INR"}
    assert order.total == 499_800
    stored = await Product.get(shoe.id)
    assert stored is not None
    assert stored.stock == STOCK - summary["quantity"]
    assert summary["addedAddress"] is True
    book = await AddressBook.find_one(AddressBook.user_id == buyer.id)
    assert book is not None
    assert [global_id(address) for address in book.addresses] == [summary["addressId"]]
    assert order.shipping_address.line1 == "12 MG Road"

    # Every query was registered once, then used by hash over GET; mutations went by POST.
    requests = summary["requests"]
    assert set(attempts_by_operation(requests)) == QUERIES | MUTATIONS
    assert_registered_each_query(requests)
    assert all(
        request["method"] == "POST" for request in requests if request["operationName"] in MUTATIONS
    )
    # The server saw the same GETs and POSTs the client says it sent.
    seen = [match.group(1) for match in ACCESS_LOG_LINE.finditer(live_api.log(log_start))]
    assert sorted(seen) == sorted(request["method"] for request in requests)


async def test_client_registers_its_queries_again_once_the_store_is_lost(
    node_clients: Path, live_api: LiveServer, cache_redis: LocalServer
) -> None:
    shoe, buyer = await given_a_shop()
    await run_storefront(node_clients, live_api)

    # A second client finds every document stored: no query is sent in full.
    known = await run_storefront(node_clients, live_api)
    assert_queries_by_hash_over_get(known["requests"])

    # The cache Redis is flushed and the process restarted (its in-memory copies gone).
    redis = Redis.from_url(cache_redis.uri)
    try:
        assert await redis.keys("*apq:*")
        await redis.flushdb()
    finally:
        await redis.aclose()
    live_api.restart()

    again = await run_storefront(node_clients, live_api)
    assert_registered_each_query(again["requests"])
    assert await Order.find(Order.user_id == buyer.id).count() == 3
    stored = await Product.get(shoe.id)
    assert stored is not None
    assert stored.stock == STOCK - 3 * again["quantity"]
