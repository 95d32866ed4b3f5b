"""`product(id | slug)`."""

from __future__ import annotations

import httpx
from strawberry import relay

from tests.factories import global_id, make_category, make_product
from tests.support import error_codes, graphql

PRODUCT = """
query Product($id: ID, $slug: String) {
  product(id: $id, slug: $slug) { id name slug category { name } subcategory { name }
                                  images { url alt width height } }
}
"""


async def test_finds_a_product_by_id_and_by_slug(client: httpx.AsyncClient) -> None:
    shoes = await make_category("Shoes")
    running = await make_category("Running", parent=shoes)
    runner = await make_product(running, name="Runner", slug="runner")

    by_id = await graphql(client, PRODUCT, {"id": global_id(runner)})
    by_slug = await graphql(client, PRODUCT, {"slug": "runner"})

    assert by_id == by_slug
    assert by_id["data"]["product"]["id"] == global_id(runner)
    assert by_id["data"]["product"]["category"] == {"name": "Shoes"}
    assert by_id["data"]["product"]["subcategory"] == {"name": "Running"}
    assert by_id["data"]["product"]["images"][0]["alt"] == "Runner"


async def test_unpublished_and_missing_products_are_null(client: httpx.AsyncClient) -> None:
    shoes = await make_category("Shoes")
    hidden = await make_product(shoes, slug="hidden", published=False)

    assert (await graphql(client, PRODUCT, {"slug": "hidden"}))["data"] == {"product": None}
    assert (await graphql(client, PRODUCT, {"id": global_id(hidden)}))["data"] == {"product": None}
    assert (await graphql(client, PRODUCT, {"slug": "nope"}))["data"] == {"product": None}


async def test_needs_exactly_one_of_id_and_slug(client: httpx.AsyncClient) -> None:
    shoes = await make_category("Shoes")
    runner = await make_product(shoes, slug="runner")

    neither = await graphql(client, PRODUCT, {})
    both = await graphql(client, PRODUCT, {"id": global_id(runner), "slug": "runner"})

    assert error_codes(neither) == ["BAD_USER_INPUT"]
    assert error_codes(both) == ["BAD_USER_INPUT"]


async def test_refuses_malformed_ids_and_ids_of_other_types(client: httpx.AsyncClient) -> None:
    shoes = await make_category("Shoes")

    for bad_id in ("garbage", global_id(shoes), str(relay.GlobalID("Product", "not-an-objectid"))):
        body = await graphql(client, PRODUCT, {"id": bad_id})
        assert error_codes(body) == ["BAD_USER_INPUT"], bad_id
        assert body["errors"][0]["extensions"]["field"] == "id"


async def test_an_id_with_a_slug_is_refused_for_both_before_the_id_is_read(
    client: httpx.AsyncClient,
) -> None:
    shoes = await make_category("Shoes")
    await make_product(shoes, slug="runner")

    for bad_id in ("garbage", global_id(shoes)):
        body = await graphql(client, PRODUCT, {"id": bad_id, "slug": "runner"})

        assert body["data"] == {"product": None}
        assert [(error["message"], error["extensions"]) for error in body["errors"]] == [
            ("Pass exactly one of id and slug", {"code": "BAD_USER_INPUT", "field": "id"})
        ], bad_id
