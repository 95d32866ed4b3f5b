"""Reading orders: a buyer's own, one by id or number, the admin list, sales, query counts."""

from __future__ import annotations

from datetime import timedelta

import httpx
from starlette.applications import Starlette

from documents.accounts import Role
from documents.catalog import Product
from documents.orders import OrderStatus
from tests.factories import (
    BASE_TIME,
    global_id,
    make_category,
    make_order,
    make_product,
    make_user,
)
from tests.support import MongoCommandCounter, access_token_for, error_codes, graphql

MY_ORDERS = """
query($first: Int, $after: String) {
  myOrders(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { number status total { amount currency } lines { name quantity product { slug } } } }
  }
}
"""
ORDER = """
query($id: ID, $number: Int) {
  order(id: $id, number: $number) { number email shippingAddress { city } history { toStatus } }
}
"""
ORDERS = """
query($filter: OrderFilter, $sortBy: OrderSortInput, $first: Int) {
  orders(filter: $filter, sortBy: $sortBy, first: $first) {
    totalCount edges { node { number email status total { amount } } }
  }
}
"""
SALES = """
query($from: DateTime!, $to: DateTime!) {
  salesSummary(from: $from, to: $to) {
    orders units revenue { amount }
    byDay { day orders units revenue { amount } }
    topProducts { name units revenue { amount } }
  }
}
"""
PRODUCT_ORDERS = """
query($slug: String!) { product(slug: $slug) { orders(first: 10) { edges { node { number } } } } }
"""


async def test_a_buyer_sees_their_orders_newest_first_in_pages(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    asha, ravi = await make_user(), await make_user()
    runner = await make_product(await make_category(), slug="runner", price=10_000)
    for minutes in range(3):
        await make_order(asha, (runner, 1), created_at=BASE_TIME + timedelta(minutes=minutes))
    await make_order(ravi, (runner, 2))
    token = await access_token_for(app, asha)

    first = await graphql(client, MY_ORDERS, {"first": 2}, token=token)
    cursor = first["data"]["myOrders"]["pageInfo"]["endCursor"]
    second = await graphql(client, MY_ORDERS, {"first": 2, "after": cursor}, token=token)

    page = first["data"]["myOrders"]
    numbers = [edge["node"]["number"] for edge in page["edges"]]
    later = [edge["node"]["number"] for edge in second["data"]["myOrders"]["edges"]]
    assert page["totalCount"] == 3
    assert numbers == sorted(numbers, reverse=True)
    assert later[0] < numbers[-1]
    assert len(later) == 1
    assert page["edges"][0]["node"]["lines"] == [
        {"name": runner.name, "quantity": 1, "product": {"slug": "runner"}}
    ]
    assert page["edges"][0]["node"]["total"] == {"amount": "100.00", "currency": "INR"}


async def test_an_order_is_for_its_buyer_and_admins_only(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    asha, ravi = await make_user(), await make_user()
    admin = await make_user(role=Role.ADMIN)
    order = await make_order(asha, (await make_product(await make_category()), 1))
    by_id, by_number = {"id": global_id(order)}, {"number": order.number}

    for variables in (by_id, by_number):
        mine = await graphql(client, ORDER, variables, token=await access_token_for(app, asha))
        admins = await graphql(client, ORDER, variables, token=await access_token_for(app, admin))
        others = await graphql(client, ORDER, variables, token=await access_token_for(app, ravi))
        anonymous = await graphql(client, ORDER, variables)

        assert mine["data"]["order"]["number"] == order.number
        assert admins["data"]["order"]["email"] == asha.email
        assert others["data"] == {"order": None}
        assert anonymous["data"] == {"order": None}
    both = await graphql(
        client, ORDER, {**by_id, **by_number}, token=await access_token_for(app, asha)
    )
    assert error_codes(both) == ["BAD_USER_INPUT"]


async def test_my_orders_needs_a_signed_in_user(client: httpx.AsyncClient) -> None:
    body = await graphql(client, MY_ORDERS, {"first": 5})

    assert error_codes(body) == ["UNAUTHENTICATED"]


async def test_admins_filter_search_and_sort_orders(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    admin = await make_user(role=Role.ADMIN)
    asha, ravi = await make_user("asha@example.com"), await make_user("ravi@example.com")
    runner = await make_product(await make_category(), price=10_000)
    small = await make_order(asha, (runner, 1), number=5001)
    large = await make_order(ravi, (runner, 3), number=5002, status=OrderStatus.SHIPPED)
    token = await access_token_for(app, admin)

    async def numbers(variables: dict[str, object]) -> list[int]:
        body = await graphql(client, ORDERS, variables, token=token)
        assert "errors" not in body, body
        return [edge["node"]["number"] for edge in body["data"]["orders"]["edges"]]

    assert await numbers({"filter": {"status": "SHIPPED"}}) == [large.number]
    assert await numbers({"filter": {"search": "#5001"}}) == [small.number]
    assert await numbers({"filter": {"search": "5002"}}) == [large.number]
    assert await numbers({"filter": {"search": "ASHA@example.com"}}) == [small.number]
    assert await numbers({"filter": {"userId": global_id(ravi)}}) == [large.number]
    assert await numbers({"sortBy": {"field": "TOTAL", "descending": True}}) == [5002, 5001]
    assert await numbers({"sortBy": {"field": "NUMBER", "descending": False}}) == [5001, 5002]
    assert await numbers({"filter": {"paymentMethod": "ONLINE"}}) == []
    too_many = await graphql(client, ORDERS, {"first": 101}, token=token)
    assert error_codes(too_many) == ["BAD_USER_INPUT"]


async def test_sales_summary_counts_placed_orders_that_were_not_cancelled(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    admin = await make_user(role=Role.ADMIN)
    buyer = await make_user()
    shoes = await make_category()
    runner = await make_product(shoes, name="Runner", price=10_000)
    sock = await make_product(shoes, name="Sock", price=1_000)
    day = BASE_TIME.replace(hour=10)
    await make_order(buyer, (runner, 2), (sock, 1), created_at=day)
    await make_order(buyer, (sock, 3), created_at=day + timedelta(days=1))
    await make_order(buyer, (runner, 5), created_at=day, status=OrderStatus.CANCELLED)

    body = await graphql(
        client,
        SALES,
        {"from": BASE_TIME.isoformat(), "to": (BASE_TIME + timedelta(days=7)).isoformat()},
        token=await access_token_for(app, admin),
    )

    summary = body["data"]["salesSummary"]
    assert (summary["orders"], summary["units"], summary["revenue"]) == (2, 6, {"amount": "240.00"})
    assert summary["byDay"] == [
        {"day": "2026-01-01", "orders": 1, "units": 3, "revenue": {"amount": "210.00"}},
        {"day": "2026-01-02", "orders": 1, "units": 3, "revenue": {"amount": "30.00"}},
    ]
    assert summary["topProducts"] == [
        {"name": "Runner", "units": 2, "revenue": {"amount": "200.00"}},
        {"name": "Sock", "units": 4, "revenue": {"amount": "40.00"}},
    ]


async def test_an_archived_products_orders_stay_readable(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    admin = await make_user(role=Role.ADMIN)
    runner = await make_product(await make_category(), slug="runner")
    order = await make_order(await make_user(), (runner, 1))
    await runner.set({"archived_at": BASE_TIME, "published": False})

    body = await graphql(
        client, PRODUCT_ORDERS, {"slug": "runner"}, token=await access_token_for(app, admin)
    )

    assert body["data"]["product"]["orders"]["edges"] == [{"node": {"number": order.number}}]


async def test_my_orders_with_lines_and_products_cost_the_same_for_1_or_20_orders(
    app: Starlette, client: httpx.AsyncClient, mongo_commands: MongoCommandCounter
) -> None:
    async def commands_for(order_count: int) -> list[str]:
        buyer = await make_user()
        shoes = await make_category()
        for _ in range(order_count):
            products = [await make_product(shoes) for _ in range(3)]
            await make_order(buyer, *((product, 1) for product in products))
        token = await access_token_for(app, buyer)
        mongo_commands.reset()
        body = await graphql(client, MY_ORDERS, {"first": 20}, token=token)
        assert len(body["data"]["myOrders"]["edges"]) == order_count
        return mongo_commands.commands

    one, twenty = await commands_for(1), await commands_for(20)

    assert sorted(one) == sorted(twenty)
    # The viewer (session and user, batched), the page, its count, the products of every line.
    assert sorted(one) == ["aggregate", "aggregate", "find", "find", "find"]


async def test_the_admin_order_list_costs_the_same_for_1_or_20_orders(
    app: Starlette, client: httpx.AsyncClient, mongo_commands: MongoCommandCounter
) -> None:
    admin = await make_user(role=Role.ADMIN)
    token = await access_token_for(app, admin)
    runner = await make_product(await make_category())
    buyer = await make_user()
    query = (
        "{ orders(first: 50) { totalCount edges { node { number lines { product { name } } } } } }"
    )

    await make_order(buyer, (runner, 1))
    mongo_commands.reset()
    await graphql(client, query, token=token)
    one = mongo_commands.commands
    for _ in range(19):
        await make_order(buyer, (runner, 1))
    mongo_commands.reset()
    await graphql(client, query, token=token)

    assert sorted(mongo_commands.commands) == sorted(one)


async def test_sales_summary_takes_times_without_a_zone_as_utc(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    admin = await make_user(role=Role.ADMIN)
    # Placed a day into the window, whatever the factories' running clock has reached.
    placed = BASE_TIME + timedelta(days=1)
    await make_order(
        await make_user(), (await make_product(await make_category()), 1), created_at=placed
    )

    body = await graphql(
        client,
        SALES,
        {"from": "2026-01-01T00:00:00", "to": "2026-01-08T00:00:00Z"},
        token=await access_token_for(app, admin),
    )

    assert "errors" not in body, body
    assert body["data"]["salesSummary"]["orders"] == 1


async def test_a_product_with_orders_can_be_archived_but_not_deleted(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    admin = await make_user(role=Role.ADMIN)
    runner = await make_product(await make_category(), slug="runner")
    await make_order(await make_user(), (runner, 1))
    delete = "mutation($id: ID!) { deleteProduct(id: $id, hard: true) { deletedId errors { field code } } }"

    body = await graphql(
        client, delete, {"id": global_id(runner)}, token=await access_token_for(app, admin)
    )

    assert body["data"]["deleteProduct"] == {
        "deletedId": None,
        "errors": [{"field": "id", "code": "PRODUCT_IN_ORDERS"}],
    }
    assert await Product.get(runner.id) is not None
