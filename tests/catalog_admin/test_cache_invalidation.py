"""Catalog admin writes retire exactly the cached storefront results they change."""

from __future__ import annotations

from typing import Any

import httpx

from tests.factories import global_id, make_category, make_product
from tests.support import admin_token, graphql

PRODUCT_PAGE = """
query ProductPage($slug: String!) {
  product(slug: $slug) { name stock finalPrice { amount } category { name } }
}
"""
PRODUCT_LIST = """
query ProductList($first: Int) {
  products(first: $first) { edges { node { slug finalPrice { amount } category { name } } } }
}
"""
CATEGORY_PAGE = """
query CategoryPage($slug: String!) {
  category(slug: $slug) {
    name
    products(first: 10) { edges { node { slug finalPrice { amount } } } }
  }
}
"""
UPDATE_PRODUCT = """
mutation UpdateProduct($input: UpdateProductInput!) {
  updateProduct(input: $input) { errors { code } }
}
"""
CREATE_PRODUCT = """
mutation CreateProduct($input: CreateProductInput!) {
  createProduct(input: $input) { errors { code } }
}
"""
DELETE_PRODUCT = """
mutation DeleteProduct($id: ID!) { deleteProduct(id: $id) { errors { code } } }
"""
UPDATE_CATEGORY = """
mutation UpdateCategory($input: UpdateCategoryInput!) {
  updateCategory(input: $input) { errors { code } }
}
"""
DELETE_CATEGORY = """
mutation DeleteCategory($input: DeleteCategoryInput!) {
  deleteCategory(input: $input) { errors { code } }
}
"""
ADJUST_STOCK = """
mutation AdjustStock($input: AdjustStockInput!) { adjustStock(input: $input) { errors { code } } }
"""

Request = tuple[str, dict[str, Any]]


async def read(client: httpx.AsyncClient, request: Request) -> tuple[dict[str, Any], str]:
    """An anonymous storefront read: its data and `extensions.cache`."""
    query, variables = request
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    body = response.json()
    assert "errors" not in body, body
    return body["data"], body["extensions"]["cache"]


async def cached(client: httpx.AsyncClient, *requests: Request) -> None:
    """Run each read twice, so it is in the cache, and check that the second one hit."""
    for request in requests:
        await read(client, request)
        _, status = await read(client, request)
        assert status == "HIT", request


async def admin_write(
    client: httpx.AsyncClient, token: str, document: str, variables: dict[str, Any]
) -> None:
    body = await graphql(client, document, variables, token=token)
    assert "errors" not in body, body
    (payload,) = body["data"].values()
    assert payload["errors"] == [], payload


def slugs(data: dict[str, Any]) -> list[str]:
    connection = data["products"] if "products" in data else data["category"]["products"]
    return [edge["node"]["slug"] for edge in connection["edges"]]


async def test_a_price_change_shows_at_once_where_the_product_is_shown_and_nowhere_else(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    shoes = await make_category("Shoes", slug="shoes")
    bags = await make_category("Bags", slug="bags")
    runner = await make_product(shoes, name="Runner", slug="runner", price=10_000)
    await make_product(bags, name="Tote", slug="tote", price=5_000)
    showing_runner: list[Request] = [
        (PRODUCT_LIST, {"first": 10}),
        (PRODUCT_PAGE, {"slug": "runner"}),
        (CATEGORY_PAGE, {"slug": "shoes"}),
    ]
    unrelated: Request = (PRODUCT_PAGE, {"slug": "tote"})
    await cached(client, *showing_runner, unrelated)

    await admin_write(
        client, token, UPDATE_PRODUCT, {"input": {"id": global_id(runner), "price": "120.00"}}
    )

    for request in showing_runner:
        data, status = await read(client, request)
        assert status == "MISS", request
        assert "120.00" in str(data), request
        assert "100.00" not in str(data), request
    tote, status = await read(client, unrelated)
    assert (status, tote["product"]["finalPrice"]) == ("HIT", {"amount": "50.00"})
    for request in showing_runner:
        assert (await read(client, request))[1] == "HIT", request


async def test_a_created_product_appears_in_a_cached_category_page(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    shoes = await make_category("Shoes", slug="shoes")
    await make_product(shoes, slug="runner")
    page: Request = (CATEGORY_PAGE, {"slug": "shoes"})
    await cached(client, page)

    await admin_write(
        client,
        token,
        CREATE_PRODUCT,
        {
            "input": {
                "name": "Trail Runner",
                "price": "99.00",
                "categoryId": global_id(shoes),
                "published": True,
            }
        },
    )

    data, status = await read(client, page)
    assert status == "MISS"
    assert sorted(slugs(data)) == ["runner", "trail-runner"]


async def test_an_archived_product_leaves_cached_lists_and_its_page(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    shoes = await make_category("Shoes", slug="shoes")
    runner = await make_product(shoes, slug="runner")
    await make_product(shoes, slug="boot")
    requests: list[Request] = [
        (PRODUCT_LIST, {"first": 10}),
        (CATEGORY_PAGE, {"slug": "shoes"}),
        (PRODUCT_PAGE, {"slug": "runner"}),
    ]
    await cached(client, *requests)

    await admin_write(client, token, DELETE_PRODUCT, {"id": global_id(runner)})

    for request in requests[:2]:
        data, status = await read(client, request)
        assert (status, slugs(data)) == ("MISS", ["boot"]), request
    assert await read(client, requests[2]) == ({"product": None}, "MISS")


async def test_a_renamed_category_shows_in_cached_product_lists_and_pages(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    shoes = await make_category("Shoes", slug="shoes")
    await make_product(shoes, slug="runner")
    requests: list[Request] = [(PRODUCT_LIST, {"first": 10}), (PRODUCT_PAGE, {"slug": "runner"})]
    await cached(client, *requests)

    await admin_write(
        client, token, UPDATE_CATEGORY, {"input": {"id": global_id(shoes), "name": "Footwear"}}
    )

    listed, list_status = await read(client, requests[0])
    page, page_status = await read(client, requests[1])
    assert (list_status, page_status) == ("MISS", "MISS")
    assert listed["products"]["edges"][0]["node"]["category"] == {"name": "Footwear"}
    assert page["product"]["category"] == {"name": "Footwear"}


async def test_deleting_a_category_with_moves_shows_in_cached_lists(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    shoes = await make_category("Shoes", slug="shoes")
    bags = await make_category("Bags", slug="bags")
    await make_product(shoes, slug="runner")
    await make_product(bags, slug="tote")
    requests: list[Request] = [
        (PRODUCT_LIST, {"first": 10}),
        (CATEGORY_PAGE, {"slug": "bags"}),
        (CATEGORY_PAGE, {"slug": "shoes"}),
    ]
    await cached(client, *requests)

    await admin_write(
        client,
        token,
        DELETE_CATEGORY,
        {"input": {"id": global_id(shoes), "moveProductsTo": global_id(bags)}},
    )

    listed, status = await read(client, requests[0])
    assert status == "MISS"
    assert {
        edge["node"]["slug"]: edge["node"]["category"]["name"]
        for edge in listed["products"]["edges"]
    } == {"runner": "Bags", "tote": "Bags"}
    bags_page, status = await read(client, requests[1])
    assert (status, sorted(slugs(bags_page))) == ("MISS", ["runner", "tote"])
    assert await read(client, requests[2]) == ({"category": None}, "MISS")


async def test_a_stock_change_shows_in_the_cached_product_page(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    runner = await make_product(await make_category("Shoes"), slug="runner", stock=3)
    page: Request = (PRODUCT_PAGE, {"slug": "runner"})
    await cached(client, page)

    await admin_write(
        client,
        token,
        ADJUST_STOCK,
        {"input": {"productId": global_id(runner), "delta": 4, "reason": "Delivery"}},
    )

    data, status = await read(client, page)
    assert (status, data["product"]["stock"]) == ("MISS", 7)
