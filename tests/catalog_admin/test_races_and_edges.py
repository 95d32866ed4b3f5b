"""Races between admin writes, and edge cases of their inputs."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import httpx
import pytest

from documents.catalog import Category, Product
from documents.common import Image
from documents.errors import InvalidInputError
from documents.money import to_minor_units
from documents.stock import StockCountConflictError
from resolvers.catalog_admin.transfer import importing
from tests.catalog_admin.test_transfer import csv_file, export, imported
from tests.factories import global_id, make_category, make_product
from tests.support import admin_token, graphql

MOVE = """
mutation($input: UpdateProductInput!) { updateProduct(input: $input) { errors { code } } }
"""
DELETE_CATEGORY = """
mutation($input: DeleteCategoryInput!) { deleteCategory(input: $input) { errors { code } } }
"""
PUBLISH = """
mutation($id: ID!) { setProductPublished(id: $id, published: true) { errors { code } } }
"""
ARCHIVE = "mutation($id: ID!) { deleteProduct(id: $id) { errors { code } } }"
HARD_DELETE = (
    "mutation($id: ID!) { deleteProduct(id: $id, hard: true) { deletedId errors { code } } }"
)
CREATE = """
mutation($input: CreateProductInput!) {
  createProduct(input: $input) { product { slug } errors { field code } }
}
"""
PRODUCT_PAGE = "query($slug: String!) { product(slug: $slug) { name stock } }"
LIST = "{ products(first: 50) { edges { node { slug category { slug } } } } }"


async def cached(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any]
) -> tuple[Any, str]:
    body = (await client.post("/graphql", json={"query": query, "variables": variables})).json()
    assert "errors" not in body, body
    return body["data"], body["extensions"]["cache"]


async def test_a_category_is_never_deleted_under_a_product_moving_into_it(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    home = await make_category("Home")
    for round_number in range(10):
        target = await make_category(f"Target {round_number}")
        product = await make_product(home)

        await asyncio.gather(
            graphql(
                client,
                MOVE,
                {"input": {"id": global_id(product), "categoryId": global_id(target)}},
                token=token,
            ),
            graphql(client, DELETE_CATEGORY, {"input": {"id": global_id(target)}}, token=token),
        )

        stored = await Product.get(product.id)
        assert stored is not None
        assert await Category.get(stored.category_id) is not None, round_number
    body = await graphql(client, LIST)
    assert "errors" not in body


async def test_publishing_and_archiving_at_once_never_leave_an_archived_product_published(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    shoes = await make_category("Shoes")
    for _ in range(15):
        product = await make_product(shoes, published=False)

        await asyncio.gather(
            graphql(client, PUBLISH, {"id": global_id(product)}, token=token),
            graphql(client, ARCHIVE, {"id": global_id(product)}, token=token),
        )

        stored = await Product.get(product.id)
        assert stored is not None
        assert not (stored.published and stored.archived_at is not None)


async def test_a_hard_delete_with_an_image_of_another_store_still_refreshes_the_cache(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    shoes = await make_category("Shoes")
    # An id the current (local) store never made, as after switching from Cloudinary.
    product = await make_product(
        shoes, slug="runner", images=[Image(url="https://cdn.test/x.jpg", public_id="../x.png")]
    )
    assert (await cached(client, PRODUCT_PAGE, {"slug": "runner"}))[1] == "MISS"
    assert (await cached(client, PRODUCT_PAGE, {"slug": "runner"}))[1] == "HIT"

    body = await graphql(client, HARD_DELETE, {"id": global_id(product)}, token=token)

    assert body["data"]["deleteProduct"]["errors"] == []
    assert await cached(client, PRODUCT_PAGE, {"slug": "runner"}) == ({"product": None}, "MISS")


async def test_an_import_that_stops_midway_reports_the_rest_and_refreshes_the_cache(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = await admin_token(client)
    await make_category("Shoes", slug="shoes")
    shoes = await Category.find_one(Category.slug == "shoes")
    assert shoes is not None
    await make_product(shoes, slug="a", name="Old A", stock=5)
    await make_product(shoes, slug="b", name="Old B", stock=5)
    assert (await cached(client, PRODUCT_PAGE, {"slug": "a"}))[0]["product"]["name"] == "Old A"
    # One row per batch, and stock that keeps changing under the second batch.
    monkeypatch.setattr(importing, "BATCH_SIZE", 1)
    real = importing.set_counted_stock
    calls = 0

    async def conflicting(*args: Any, **kwargs: Any) -> None:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise StockCountConflictError("stock changed")
        await real(*args, **kwargs)

    monkeypatch.setattr(importing, "set_counted_stock", conflicting)

    payload = await imported(
        client,
        csv_file(
            "a,New A,,,10.00,0,7,shoes,,true,false",
            "b,New B,,,10.00,0,8,shoes,,true,false",
        ),
        token=token,
    )

    assert (payload["updated"], payload["failed"]) == (1, 1)
    assert [(row["slug"], row["code"]) for row in payload["rows"]] == [("b", "INVALID_ROW")]
    assert (await cached(client, PRODUCT_PAGE, {"slug": "a"}))[0]["product"] == {
        "name": "New A",
        "stock": 7,
    }
    untouched = await Product.find_one(Product.slug == "b")
    assert untouched is not None
    assert (untouched.name, untouched.stock) == ("Old B", 5)


async def test_slugs_with_a_trailing_newline_are_refused(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    shoes = await make_category("Shoes")

    body = await graphql(
        client,
        CREATE,
        {
            "input": {
                "name": "Runner",
                "price": "10",
                "categoryId": global_id(shoes),
                "slug": "runner\n",
            }
        },
        token=token,
    )

    assert body["data"]["createProduct"]["errors"] == [{"field": "slug", "code": "INVALID_SLUG"}]
    assert await Product.count() == 0


@pytest.mark.parametrize("amount", ["1e-999999999999", "0.001", "-1e-30"])
def test_amounts_finer_than_the_currency_are_refused_not_rounded_to_zero(amount: str) -> None:
    with pytest.raises(InvalidInputError):
        to_minor_units(Decimal(amount), "INR", field="price")


def test_trailing_zeros_are_fine() -> None:
    assert to_minor_units(Decimal("12.500"), "INR", field="price") == 1250


async def test_deleting_an_empty_category_keeps_unrelated_cached_pages(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    shoes = await make_category("Shoes")
    empty = await make_category("Empty")
    await make_product(shoes, slug="runner")
    await cached(client, PRODUCT_PAGE, {"slug": "runner"})

    await graphql(client, DELETE_CATEGORY, {"input": {"id": global_id(empty)}}, token=token)

    assert (await cached(client, PRODUCT_PAGE, {"slug": "runner"}))[1] == "HIT"


async def test_formula_looking_cells_are_escaped_in_exports_and_restored_on_import(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    shoes = await make_category("Shoes", slug="shoes")
    formula = '=HYPERLINK("http://evil.test","x")'
    await make_product(shoes, slug="sneaky", name=formula)

    exported = (await export(client, token)).content
    await Product.get_pymongo_collection().delete_many({})
    payload = await imported(client, exported, token=token)

    assert b"'=HYPERLINK" in exported
    assert payload["created"] == 1
    restored = await Product.find_one(Product.slug == "sneaky")
    assert restored is not None
    assert restored.name == formula


async def test_an_import_never_places_products_in_a_category_deleted_meanwhile(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    for round_number in range(6):
        target = await make_category(f"Target {round_number}", slug=f"target-{round_number}")
        row = (
            f"item-{round_number},Item {round_number},,,10.00,0,1,target-{round_number},,true,false"
        )

        await asyncio.gather(
            imported(client, csv_file(row), token=token),
            graphql(client, DELETE_CATEGORY, {"input": {"id": global_id(target)}}, token=token),
        )

        for product in await Product.find_all().to_list():
            assert await Category.get(product.category_id) is not None, round_number
