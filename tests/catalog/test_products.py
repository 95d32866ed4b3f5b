"""`products`: filters, sorting, search and keyset pagination over visible products."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import httpx

from tests.factories import global_id, make_category, make_product
from tests.support import error_codes, graphql

PRODUCTS = """
query Products($first: Int, $after: String, $last: Int, $before: String,
               $filter: ProductFilter, $sortBy: ProductSortInput, $search: String) {
  products(first: $first, after: $after, last: $last, before: $before,
           filter: $filter, sortBy: $sortBy, search: $search) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id name slug brand stock inStock ratingAverage
                          price { amount currency } finalPrice { amount currency }
                          category { name } } }
  }
}
"""


async def list_products(client: httpx.AsyncClient, **variables: Any) -> dict[str, Any]:
    body = await graphql(client, PRODUCTS, variables)
    assert "errors" not in body, body
    connection: dict[str, Any] = body["data"]["products"]
    return connection


def forged_cursor(ordering: str, value: object, object_id: str = "0" * 24) -> str:
    raw = json.dumps([ordering, value, object_id]).encode()
    return base64.urlsafe_b64encode(raw).decode()


def names(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["name"] for edge in connection["edges"]]


async def test_lists_published_products_newest_first_by_default(client: httpx.AsyncClient) -> None:
    shoes = await make_category("Shoes")
    await make_product(shoes, name="Old Runner")
    await make_product(shoes, name="New Runner")
    await make_product(shoes, name="Hidden Runner", published=False)

    connection = await list_products(client)

    assert names(connection) == ["New Runner", "Old Runner"]
    assert connection["totalCount"] == 2
    assert connection["edges"][0]["node"]["category"] == {"name": "Shoes"}


async def test_prices_are_exact_decimal_strings_and_final_price_applies_discount(
    client: httpx.AsyncClient,
) -> None:
    shoes = await make_category("Shoes")
    await make_product(shoes, name="Runner", price=129_999, discount_percent=15)

    node = (await list_products(client))["edges"][0]["node"]

    assert node["price"] == {"amount": "1299.99", "currency": "INR"}
    # 129999 * 0.85 = 110499.15 paise, rounded half up to 110499.
    assert node["finalPrice"] == {"amount": "1104.99", "currency": "INR"}


async def test_pages_forward_and_backward_with_stable_cursors_under_ties(
    client: httpx.AsyncClient,
) -> None:
    shoes = await make_category("Shoes")
    # Seven products at the same price: only the id breaks the tie.
    for number in range(7):
        await make_product(shoes, name=f"Tie {number}", price=5_000)
    by_price = {"field": "PRICE", "direction": "ASC"}

    everything = names(await list_products(client, first=100, sortBy=by_price))
    first = await list_products(client, first=3, sortBy=by_price)
    second = await list_products(
        client, first=3, after=first["pageInfo"]["endCursor"], sortBy=by_price
    )
    third = await list_products(
        client, first=3, after=second["pageInfo"]["endCursor"], sortBy=by_price
    )
    back = await list_products(
        client, last=3, before=third["pageInfo"]["startCursor"], sortBy=by_price
    )

    assert names(first) + names(second) + names(third) == everything
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["pageInfo"]["hasPreviousPage"] is False
    assert third["pageInfo"]["hasNextPage"] is False
    assert names(back) == names(second)
    assert back["pageInfo"]["hasPreviousPage"] is True


async def test_a_product_inserted_before_the_cursor_does_not_shift_the_next_page(
    client: httpx.AsyncClient,
) -> None:
    shoes = await make_category("Shoes")
    for price in (100, 200, 300, 400):
        await make_product(shoes, name=f"At {price}", price=price)
    by_price = {"field": "PRICE", "direction": "ASC"}
    first = await list_products(client, first=2, sortBy=by_price)

    await make_product(shoes, name="Cheapest", price=50)
    second = await list_products(
        client, first=2, after=first["pageInfo"]["endCursor"], sortBy=by_price
    )

    assert names(second) == ["At 300", "At 400"]


async def test_sorts_by_each_field_in_both_directions(client: httpx.AsyncClient) -> None:
    shoes = await make_category("Shoes")
    await make_product(shoes, name="Bravo", price=300, ratings=[0, 0, 0, 1, 1])
    await make_product(shoes, name="Alpha", price=200, ratings=[0, 0, 1, 0, 0])
    await make_product(shoes, name="Charlie", price=100, ratings=[0, 0, 0, 0, 1])

    async def order(field: str, direction: str) -> list[str]:
        return names(await list_products(client, sortBy={"field": field, "direction": direction}))

    assert await order("NAME", "ASC") == ["Alpha", "Bravo", "Charlie"]
    assert await order("PRICE", "DESC") == ["Bravo", "Alpha", "Charlie"]
    assert await order("RATING", "DESC") == ["Charlie", "Bravo", "Alpha"]
    assert await order("CREATED_AT", "ASC") == ["Bravo", "Alpha", "Charlie"]


async def test_filters_combine(client: httpx.AsyncClient) -> None:
    shoes = await make_category("Shoes")
    running = await make_category("Running", parent=shoes)
    bags = await make_category("Bags")
    await make_product(
        running, name="Match", brand="Fleet", price=20_000, stock=3, ratings=[0, 0, 0, 4, 1]
    )
    await make_product(
        running, name="Wrong brand", brand="Other", price=20_000, stock=3, ratings=[0, 0, 0, 4, 1]
    )
    await make_product(
        running, name="Too cheap", brand="Fleet", price=500, stock=3, ratings=[0, 0, 0, 4, 1]
    )
    await make_product(
        running, name="Sold out", brand="Fleet", price=20_000, stock=0, ratings=[0, 0, 0, 4, 1]
    )
    await make_product(
        running, name="Low rated", brand="Fleet", price=20_000, stock=3, ratings=[0, 1, 0, 0, 0]
    )
    await make_product(
        bags, name="Other category", brand="Fleet", price=20_000, stock=3, ratings=[0, 0, 0, 4, 1]
    )

    connection = await list_products(
        client,
        filter={
            "categoryId": global_id(shoes),
            "subcategoryId": global_id(running),
            "brand": "Fleet",
            "priceMin": "100.00",
            "priceMax": "250",
            "inStock": True,
            "minRating": 4,
        },
    )

    assert names(connection) == ["Match"]
    assert connection["totalCount"] == 1


async def test_price_filter_applies_to_the_discounted_price(client: httpx.AsyncClient) -> None:
    shoes = await make_category("Shoes")
    await make_product(shoes, name="Discounted", price=20_000, discount_percent=50)
    await make_product(shoes, name="Full price", price=20_000)

    connection = await list_products(client, filter={"priceMax": "100.00"})

    assert names(connection) == ["Discounted"]


async def test_in_stock_false_lists_only_sold_out_products(client: httpx.AsyncClient) -> None:
    shoes = await make_category("Shoes")
    await make_product(shoes, name="Available", stock=1)
    await make_product(shoes, name="Sold out", stock=0)

    connection = await list_products(client, filter={"inStock": False})

    assert names(connection) == ["Sold out"]
    assert connection["edges"][0]["node"]["inStock"] is False


async def test_search_ranks_name_matches_above_description_matches_and_pages(
    client: httpx.AsyncClient,
) -> None:
    shoes = await make_category("Shoes")
    await make_product(shoes, name="Plain Sandal", description="Goes well with a trail runner")
    await make_product(shoes, name="Trail Runner Pro", description="For mountain trails")
    await make_product(shoes, name="Leather Boot", description="Waterproof")

    first = await list_products(client, search="trail runner", first=1)
    second = await list_products(
        client, search="trail runner", first=1, after=first["pageInfo"]["endCursor"]
    )

    assert names(first) == ["Trail Runner Pro"]
    assert names(second) == ["Plain Sandal"]
    assert second["pageInfo"]["hasNextPage"] is False
    assert first["totalCount"] == 2


async def test_search_can_be_sorted_by_price(client: httpx.AsyncClient) -> None:
    shoes = await make_category("Shoes")
    # The cheaper one matches "runner" only in its description: it is the less relevant.
    await make_product(shoes, name="Trail Runner Pro", price=9_000)
    await make_product(shoes, name="Trail Shoe Lite", description="A runner", price=3_000)

    by_relevance = await list_products(client, search="runner")
    by_price = await list_products(
        client, search="runner", sortBy={"field": "PRICE", "direction": "ASC"}
    )

    assert names(by_relevance) == ["Trail Runner Pro", "Trail Shoe Lite"]
    assert names(by_price) == ["Trail Shoe Lite", "Trail Runner Pro"]


async def test_relevance_honours_the_direction_and_its_cursors_belong_to_one_search(
    client: httpx.AsyncClient, replace_services: Callable[..., None]
) -> None:
    # With MongoDB's $text (SEARCH_ENGINE=mongo): the index orders best first only
    # (tests/search/test_search_api.py).
    replace_services(search=None)
    shoes = await make_category("Shoes")
    await make_product(shoes, name="Trail Runner Pro")
    await make_product(shoes, name="Trail Shoe Lite", description="A runner")

    ascending = await list_products(
        client, search="runner", sortBy={"field": "RELEVANCE", "direction": "ASC"}, first=1
    )
    other_search = await graphql(
        client, PRODUCTS, {"search": "trail", "after": ascending["pageInfo"]["endCursor"]}
    )

    assert names(ascending) == ["Trail Shoe Lite"]
    assert error_codes(other_search) == ["BAD_USER_INPUT"]
    assert other_search["errors"][0]["extensions"]["field"] == "after"


async def test_first_zero_returns_only_the_count_and_whether_there_is_more(
    client: httpx.AsyncClient,
) -> None:
    shoes = await make_category("Shoes")
    await make_product(shoes)

    connection = await list_products(client, first=0)
    empty = await list_products(client, first=0, filter={"inStock": False})

    assert connection["edges"] == []
    assert connection["totalCount"] == 1
    assert connection["pageInfo"]["hasNextPage"] is True
    assert empty["pageInfo"]["hasNextPage"] is False


async def test_rejects_bad_arguments_with_codes(client: httpx.AsyncClient) -> None:
    shoes = await make_category("Shoes")
    await make_product(shoes)
    cases: list[dict[str, Any]] = [
        {"first": 1000},
        {"first": -1},
        {"last": 101},
        {"first": 5, "last": 5},
        {"after": "not-a-cursor"},
        {"filter": {"priceMin": "-1"}},
        {"filter": {"priceMin": "10.001"}},
        {"filter": {"priceMin": "NaN"}},
        {"filter": {"priceMin": "500", "priceMax": "100"}},
        {"filter": {"minRating": 6}},
        {"filter": {"categoryId": "garbage"}},
        {"filter": {"categoryId": global_id(await make_product(shoes))}},
        {"sortBy": {"field": "RELEVANCE"}},
        {"search": "x" * 201},
        {"filter": {"priceMin": "ten"}},
        {"filter": {"priceMin": "1e30"}},
        {"filter": {"priceMax": "1e999999999"}},
        {"first": "many"},
        {"first": 2**40},
        {"after": forged_cursor("price_1", 2**63)},
        {"after": forged_cursor("price_1", "cheap")},
        {"after": forged_cursor("created_at_-1", 1, object_id="nope")},
        {"after": forged_cursor("created_at_-1", 1), "before": forged_cursor("created_at_-1", 2)},
    ]
    for variables in cases:
        body = await graphql(client, PRODUCTS, variables)
        assert body.get("data") is None, variables
        assert error_codes(body) == ["BAD_USER_INPUT"], (variables, body)


async def test_a_cursor_from_another_sort_order_is_refused(client: httpx.AsyncClient) -> None:
    shoes = await make_category("Shoes")
    await make_product(shoes)
    await make_product(shoes)
    by_name = await list_products(client, first=1, sortBy={"field": "NAME", "direction": "ASC"})

    body = await graphql(
        client,
        PRODUCTS,
        {
            "first": 1,
            "after": by_name["pageInfo"]["endCursor"],
            "sortBy": {"field": "PRICE", "direction": "ASC"},
        },
    )

    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert "another sort order" in body["errors"][0]["message"]


async def test_last_without_a_cursor_returns_the_end_of_the_list(
    client: httpx.AsyncClient,
) -> None:
    shoes = await make_category("Shoes")
    for price in (100, 200, 300):
        await make_product(shoes, name=f"At {price}", price=price)

    connection = await list_products(client, last=2, sortBy={"field": "PRICE", "direction": "ASC"})

    assert names(connection) == ["At 200", "At 300"]
    assert connection["pageInfo"]["hasPreviousPage"] is True
    assert connection["pageInfo"]["hasNextPage"] is False
