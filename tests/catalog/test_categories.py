"""`categories` and `category(id | slug)` with subcategories and products."""

from __future__ import annotations

import httpx

from tests.factories import global_id, make_category, make_product
from tests.support import error_codes, graphql

CATEGORIES = """
query Categories($first: Int, $after: String) {
  categories(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { name slug parent { name } subcategories { name parent { name } } } }
  }
}
"""

CATEGORY = """
query Category($id: ID, $slug: String, $sortBy: ProductSortInput) {
  category(id: $id, slug: $slug) {
    id name
    products(first: 10, sortBy: $sortBy) { totalCount edges { node { name } } }
  }
}
"""


async def test_lists_top_level_categories_by_name_with_their_subcategories(
    client: httpx.AsyncClient,
) -> None:
    shoes = await make_category("Shoes")
    bags = await make_category("Bags")
    await make_category("Trail", parent=shoes)
    await make_category("Road", parent=shoes)

    body = await graphql(client, CATEGORIES, {"first": 10})

    connection = body["data"]["categories"]
    assert connection["totalCount"] == 2
    assert [edge["node"] for edge in connection["edges"]] == [
        {"name": "Bags", "slug": bags.slug, "parent": None, "subcategories": []},
        {
            "name": "Shoes",
            "slug": shoes.slug,
            "parent": None,
            "subcategories": [
                {"name": "Road", "parent": {"name": "Shoes"}},
                {"name": "Trail", "parent": {"name": "Shoes"}},
            ],
        },
    ]


async def test_pages_through_categories(client: httpx.AsyncClient) -> None:
    for name in ("C", "A", "B"):
        await make_category(name)

    first = (await graphql(client, CATEGORIES, {"first": 2}))["data"]["categories"]
    rest = await graphql(client, CATEGORIES, {"first": 2, "after": first["pageInfo"]["endCursor"]})

    assert [edge["node"]["name"] for edge in first["edges"]] == ["A", "B"]
    assert first["pageInfo"]["hasNextPage"] is True
    assert [edge["node"]["name"] for edge in rest["data"]["categories"]["edges"]] == ["C"]


async def test_a_category_page_lists_products_of_the_category_and_its_subcategories(
    client: httpx.AsyncClient,
) -> None:
    shoes = await make_category("Shoes")
    trail = await make_category("Trail", parent=shoes)
    await make_product(shoes, name="Sneaker", price=100)
    await make_product(trail, name="Trail Runner", price=200)
    await make_product(await make_category("Bags"), name="Tote")
    by_price = {"field": "PRICE", "direction": "ASC"}

    top = await graphql(client, CATEGORY, {"slug": shoes.slug, "sortBy": by_price})
    sub = await graphql(client, CATEGORY, {"id": global_id(trail), "sortBy": by_price})

    top_products = top["data"]["category"]["products"]
    assert [edge["node"]["name"] for edge in top_products["edges"]] == ["Sneaker", "Trail Runner"]
    assert top_products["totalCount"] == 2
    sub_products = sub["data"]["category"]["products"]["edges"]
    assert [edge["node"]["name"] for edge in sub_products] == ["Trail Runner"]


async def test_unknown_category_is_null_and_bad_keys_are_refused(
    client: httpx.AsyncClient,
) -> None:
    shoes = await make_category("Shoes")
    product = await make_product(shoes)

    assert (await graphql(client, CATEGORY, {"slug": "nope"}))["data"] == {"category": None}
    assert error_codes(await graphql(client, CATEGORY, {})) == ["BAD_USER_INPUT"]
    wrong_type = await graphql(client, CATEGORY, {"id": global_id(product)})
    assert error_codes(wrong_type) == ["BAD_USER_INPUT"]


async def test_an_id_with_a_slug_is_refused_for_both_before_the_id_is_read(
    client: httpx.AsyncClient,
) -> None:
    shoes = await make_category("Shoes", slug="shoes")
    product = await make_product(shoes)

    for bad_id in ("garbage", global_id(product)):
        body = await graphql(client, CATEGORY, {"id": bad_id, "slug": "shoes"})

        assert body["data"] == {"category": None}
        assert [(error["message"], error["extensions"]) for error in body["errors"]] == [
            ("Pass exactly one of id and slug", {"code": "BAD_USER_INPUT", "field": "id"})
        ], bad_id
