"""`createProduct`, `updateProduct`, `setProductPublished`, `deleteProduct`, `restoreProduct`
(admins only), and what admins and others see of unpublished and archived products."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import httpx
import pytest
from bson import ObjectId
from PIL import Image as PillowImage
from starlette.applications import Starlette
from strawberry import relay

from documents.catalog import Product
from documents.common import Image
from settings import Settings
from tests.factories import global_id, make_category, make_product
from tests.support import admin_token, catalog_state, error_codes, graphql, user_token
from tests.support import payload_errors as errors

PRODUCT_FIELDS = """
  id name slug description brand discountPercent stock inStock published archived
  price { amount currency } finalPrice { amount currency }
  category { id } subcategory { id }
"""
CREATE_PRODUCT = f"""
mutation CreateProduct($input: CreateProductInput!) {{
  createProduct(input: $input) {{ product {{ {PRODUCT_FIELDS} }} errors {{ field code message }} }}
}}
"""
UPDATE_PRODUCT = f"""
mutation UpdateProduct($input: UpdateProductInput!) {{
  updateProduct(input: $input) {{ product {{ {PRODUCT_FIELDS} }} errors {{ field code message }} }}
}}
"""
SET_PRODUCT_PUBLISHED = """
mutation SetProductPublished($id: ID!, $published: Boolean!) {
  setProductPublished(id: $id, published: $published) {
    product { id published archived }
    errors { field code message }
  }
}
"""
DELETE_PRODUCT = """
mutation DeleteProduct($id: ID!, $hard: Boolean! = false) {
  deleteProduct(id: $id, hard: $hard) {
    product { id published archived }
    deletedId
    errors { field code message }
  }
}
"""
RESTORE_PRODUCT = """
mutation RestoreProduct($id: ID!) {
  restoreProduct(id: $id) { product { id published archived } errors { field code message } }
}
"""
PRODUCTS = """
query Products($filter: ProductFilter) {
  products(first: 50, filter: $filter) { totalCount edges { node { slug published archived } } }
}
"""
PRODUCT_BY_SLUG = """
query Product($slug: String!) { product(slug: $slug) { slug published archived } }
"""


async def stored(product_id: Any) -> Product:
    found = await Product.get(product_id)
    assert found is not None
    return found


def stored_id(node_id: str) -> ObjectId:
    return ObjectId(relay.GlobalID.from_id(node_id).node_id)


def unknown_id(type_name: str) -> str:
    return str(relay.GlobalID(type_name, str(ObjectId())))


async def listed_slugs(
    client: httpx.AsyncClient, token: str | None = None, **product_filter: Any
) -> list[str]:
    body = await graphql(client, PRODUCTS, {"filter": product_filter}, token=token)
    assert "errors" not in body, body
    return sorted(edge["node"]["slug"] for edge in body["data"]["products"]["edges"])


# --- createProduct ----------------------------------------------------------------------------


async def test_a_product_is_created_with_every_field(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    shoes = await make_category("Shoes", slug="shoes")
    running = await make_category("Running", parent=shoes, slug="running")

    body = await graphql(
        client,
        CREATE_PRODUCT,
        {
            "input": {
                "name": "  Trail   Runner ",
                "price": "1299.50",
                "categoryId": global_id(shoes),
                "subcategoryId": global_id(running),
                "description": (
                    '<p onclick=x>Hi<script>alert(1)</script></p><a href="https://x.test/a">More</a>'
                ),
                "brand": " Acme ",
                "discountPercent": 10,
                "stock": 5,
                "published": True,
            }
        },
        token=token,
    )

    payload = body["data"]["createProduct"]
    assert payload["errors"] == []
    product = payload["product"]
    assert product == {
        "id": product["id"],
        "name": "Trail Runner",
        "slug": "trail-runner",
        "description": (
            '<p>Hi</p><a href="https://x.test/a" rel="noopener noreferrer nofollow">More</a>'
        ),
        "brand": "Acme",
        "discountPercent": 10,
        "stock": 5,
        "inStock": True,
        "published": True,
        "archived": False,
        "price": {"amount": "1299.50", "currency": "INR"},
        # 129950 paise less 10 percent
        "finalPrice": {"amount": "1169.55", "currency": "INR"},
        "category": {"id": global_id(shoes)},
        "subcategory": {"id": global_id(running)},
    }
    saved = await stored(stored_id(product["id"]))
    assert (saved.price, saved.final_price, saved.currency) == (129_950, 116_955, "INR")
    assert (saved.category_id, saved.subcategory_id, saved.stock) == (shoes.id, running.id, 5)
    assert saved.description == (
        '<p>Hi</p><a href="https://x.test/a" rel="noopener noreferrer nofollow">More</a>'
    )
    assert saved.archived_at is None
    assert await listed_slugs(client) == ["trail-runner"]


async def test_a_product_is_unpublished_and_empty_by_default(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    shoes = await make_category("Shoes", slug="shoes")

    body = await graphql(
        client,
        CREATE_PRODUCT,
        {"input": {"name": "Runner", "price": "10", "categoryId": global_id(shoes)}},
        token=token,
    )

    product = body["data"]["createProduct"]["product"]
    assert {key: product[key] for key in product if key not in {"id", "category"}} == {
        "name": "Runner",
        "slug": "runner",
        "description": "",
        "brand": "",
        "discountPercent": 0,
        "stock": 0,
        "inStock": False,
        "published": False,
        "archived": False,
        "price": {"amount": "10.00", "currency": "INR"},
        "finalPrice": {"amount": "10.00", "currency": "INR"},
        "subcategory": None,
    }
    saved = await stored(stored_id(product["id"]))
    assert (saved.published, saved.price, saved.subcategory_id) == (False, 1_000, None)
    assert await listed_slugs(client) == []


async def test_a_second_product_of_the_same_name_gets_the_next_free_slug(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    shoes = await make_category("Shoes", slug="shoes")

    slugs = []
    for _ in range(2):
        body = await graphql(
            client,
            CREATE_PRODUCT,
            {"input": {"name": "Runner", "price": "10", "categoryId": global_id(shoes)}},
            token=token,
        )
        slugs.append(body["data"]["createProduct"]["product"]["slug"])

    assert slugs == ["runner", "runner-2"]


@pytest.mark.parametrize(
    ("changes", "stored_values"),
    [
        ({"name": "Ab"}, {"name": "Ab"}),
        ({"name": "x" * 200}, {"name": "x" * 200}),
        ({"description": "x" * 20_000}, {"description": "x" * 20_000}),
        ({"price": "0"}, {"price": 0, "final_price": 0}),
        ({"discountPercent": 90, "price": "0.05"}, {"price": 5, "final_price": 1}),
        ({"slug": "runner-2026"}, {"slug": "runner-2026"}),
    ],
)
async def test_values_at_the_limits_are_accepted(
    client: httpx.AsyncClient, changes: dict[str, Any], stored_values: dict[str, Any]
) -> None:
    token = await admin_token(client)
    shoes = await make_category("Shoes", slug="shoes")

    body = await graphql(
        client,
        CREATE_PRODUCT,
        {"input": {"name": "Runner", "price": "10", "categoryId": global_id(shoes), **changes}},
        token=token,
    )

    assert body["data"]["createProduct"]["errors"] == []
    saved = await stored(stored_id(body["data"]["createProduct"]["product"]["id"]))
    assert {key: getattr(saved, key) for key in stored_values} == stored_values


@pytest.mark.parametrize(
    ("case", "changes", "expected"),
    [
        ("negative price", {"price": "-1.00"}, ("price", "INVALID_PRICE")),
        ("fraction of a paisa", {"price": "10.001"}, ("price", "INVALID_PRICE")),
        ("discount over 90", {"discountPercent": 91}, ("discountPercent", "INVALID_DISCOUNT")),
        ("negative discount", {"discountPercent": -1}, ("discountPercent", "INVALID_DISCOUNT")),
        ("negative stock", {"stock": -1}, ("stock", "INVALID_STOCK")),
        ("one-character name", {"name": "R"}, ("name", "INVALID_NAME")),
        ("201-character name", {"name": "x" * 201}, ("name", "INVALID_NAME")),
        (
            "description too long",
            {"description": "x" * 20_001},
            ("description", "DESCRIPTION_TOO_LONG"),
        ),
        ("brand too long", {"brand": "x" * 101}, ("brand", "INVALID_BRAND")),
        ("unknown category", {"categoryId": "unknown"}, ("categoryId", "CATEGORY_NOT_FOUND")),
        (
            "category is a subcategory",
            {"categoryId": "running"},
            ("categoryId", "NOT_A_TOP_LEVEL_CATEGORY"),
        ),
        (
            "subcategory of another category",
            {"subcategoryId": "totes"},
            ("subcategoryId", "SUBCATEGORY_MISMATCH"),
        ),
        (
            "unknown subcategory",
            {"subcategoryId": "unknown"},
            ("subcategoryId", "CATEGORY_NOT_FOUND"),
        ),
        ("slug taken", {"slug": "taken"}, ("slug", "SLUG_TAKEN")),
        ("invalid slug", {"slug": "Trail Runner"}, ("slug", "INVALID_SLUG")),
    ],
)
async def test_an_invalid_product_is_refused_with_its_field_and_nothing_is_written(
    client: httpx.AsyncClient, case: str, changes: dict[str, Any], expected: tuple[str, str]
) -> None:
    token = await admin_token(client)
    shoes = await make_category("Shoes", slug="shoes")
    running = await make_category("Running", parent=shoes, slug="running")
    bags = await make_category("Bags", slug="bags")
    totes = await make_category("Totes", parent=bags, slug="totes")
    await make_product(bags, slug="taken")
    ids = {
        "running": global_id(running),
        "totes": global_id(totes),
        "unknown": unknown_id("Category"),
    }
    for key in ("categoryId", "subcategoryId"):
        if key in changes:
            changes = {**changes, key: ids[changes[key]]}
    before = await catalog_state()

    body = await graphql(
        client,
        CREATE_PRODUCT,
        {"input": {"name": "Runner", "price": "10", "categoryId": global_id(shoes), **changes}},
        token=token,
    )

    assert body["data"]["createProduct"]["product"] is None
    assert errors(body, "createProduct") == [expected], case
    assert await catalog_state() == before


# --- updateProduct ----------------------------------------------------------------------------


async def test_an_update_changes_only_the_fields_sent(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    shoes = await make_category("Shoes", slug="shoes")
    running = await make_category("Running", parent=shoes, slug="running")
    runner = await make_product(
        running, name="Runner", slug="runner", description="<p>Fast</p>", discount_percent=20
    )
    before = await stored(runner.id)

    body = await graphql(
        client, UPDATE_PRODUCT, {"input": {"id": global_id(runner), "name": "Racer"}}, token=token
    )

    assert body["data"]["updateProduct"]["errors"] == []
    assert body["data"]["updateProduct"]["product"]["name"] == "Racer"
    after = await stored(runner.id)
    assert after.updated_at >= before.updated_at
    assert after.model_dump(exclude={"name", "updated_at"}) == before.model_dump(
        exclude={"name", "updated_at"}
    )


async def test_a_price_change_recomputes_the_final_price(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    runner = await make_product(
        await make_category("Shoes"), slug="runner", price=10_000, discount_percent=20
    )

    price = await graphql(
        client, UPDATE_PRODUCT, {"input": {"id": global_id(runner), "price": "150.00"}}, token=token
    )
    discount = await graphql(
        client,
        UPDATE_PRODUCT,
        {"input": {"id": global_id(runner), "discountPercent": 25}},
        token=token,
    )

    assert price["data"]["updateProduct"]["product"]["finalPrice"]["amount"] == "120.00"
    assert discount["data"]["updateProduct"]["product"]["price"]["amount"] == "150.00"
    assert discount["data"]["updateProduct"]["product"]["finalPrice"]["amount"] == "112.50"
    saved = await stored(runner.id)
    assert (saved.price, saved.discount_percent, saved.final_price) == (15_000, 25, 11_250)


async def test_a_new_category_drops_the_subcategory_unless_one_is_given(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    shoes = await make_category("Shoes", slug="shoes")
    running = await make_category("Running", parent=shoes, slug="running")
    bags = await make_category("Bags", slug="bags")
    totes = await make_category("Totes", parent=bags, slug="totes")
    runner = await make_product(running, slug="runner")
    tote = await make_product(running, slug="tote")

    moved = await graphql(
        client,
        UPDATE_PRODUCT,
        {"input": {"id": global_id(runner), "categoryId": global_id(bags)}},
        token=token,
    )
    placed = await graphql(
        client,
        UPDATE_PRODUCT,
        {
            "input": {
                "id": global_id(tote),
                "categoryId": global_id(bags),
                "subcategoryId": global_id(totes),
            }
        },
        token=token,
    )

    assert moved["data"]["updateProduct"]["product"]["category"] == {"id": global_id(bags)}
    assert moved["data"]["updateProduct"]["product"]["subcategory"] is None
    saved = await stored(runner.id)
    assert (saved.category_id, saved.subcategory_id) == (bags.id, None)
    assert placed["data"]["updateProduct"]["product"]["subcategory"] == {"id": global_id(totes)}
    saved = await stored(tote.id)
    assert (saved.category_id, saved.subcategory_id) == (bags.id, totes.id)


async def test_sending_the_current_category_again_keeps_the_subcategory(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    shoes = await make_category("Shoes", slug="shoes")
    running = await make_category("Running", parent=shoes, slug="running")
    runner = await make_product(running, slug="runner")

    body = await graphql(
        client,
        UPDATE_PRODUCT,
        {"input": {"id": global_id(runner), "categoryId": global_id(shoes), "name": "Racer"}},
        token=token,
    )

    assert body["data"]["updateProduct"]["product"]["subcategory"] == {"id": global_id(running)}
    saved = await stored(runner.id)
    assert (saved.name, saved.category_id, saved.subcategory_id) == ("Racer", shoes.id, running.id)


async def test_the_subcategory_can_be_cleared_with_null(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    shoes = await make_category("Shoes", slug="shoes")
    runner = await make_product(await make_category("Running", parent=shoes), slug="runner")

    body = await graphql(
        client,
        UPDATE_PRODUCT,
        {"input": {"id": global_id(runner), "subcategoryId": None}},
        token=token,
    )

    assert body["data"]["updateProduct"]["errors"] == []
    saved = await stored(runner.id)
    assert (saved.category_id, saved.subcategory_id) == (shoes.id, None)


async def test_the_slug_can_be_changed_to_a_free_one(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    runner = await make_product(await make_category("Shoes"), slug="runner")

    body = await graphql(
        client,
        UPDATE_PRODUCT,
        {"input": {"id": global_id(runner), "slug": "trail-runner"}},
        token=token,
    )

    assert body["data"]["updateProduct"]["product"]["slug"] == "trail-runner"
    assert (await stored(runner.id)).slug == "trail-runner"
    assert await listed_slugs(client) == ["trail-runner"]


@pytest.mark.parametrize(
    ("case", "changes", "expected"),
    [
        ("slug taken", {"slug": "tote"}, ("slug", "SLUG_TAKEN")),
        ("invalid slug", {"slug": "Runner!"}, ("slug", "INVALID_SLUG")),
        ("negative price", {"price": "-5"}, ("price", "INVALID_PRICE")),
        ("fraction of a paisa", {"price": "1.999"}, ("price", "INVALID_PRICE")),
        ("discount over 90", {"discountPercent": 91}, ("discountPercent", "INVALID_DISCOUNT")),
        ("one-character name", {"name": "R"}, ("name", "INVALID_NAME")),
        (
            "description too long",
            {"description": "x" * 20_001},
            ("description", "DESCRIPTION_TOO_LONG"),
        ),
        ("unknown category", {"categoryId": "unknown"}, ("categoryId", "CATEGORY_NOT_FOUND")),
        (
            "subcategory of another category",
            {"subcategoryId": "totes"},
            ("subcategoryId", "SUBCATEGORY_MISMATCH"),
        ),
    ],
)
async def test_an_invalid_update_is_refused_and_nothing_changes(
    client: httpx.AsyncClient, case: str, changes: dict[str, Any], expected: tuple[str, str]
) -> None:
    token = await admin_token(client)
    shoes = await make_category("Shoes", slug="shoes")
    bags = await make_category("Bags", slug="bags")
    totes = await make_category("Totes", parent=bags, slug="totes")
    runner = await make_product(shoes, slug="runner")
    await make_product(totes, slug="tote")
    ids = {"totes": global_id(totes), "unknown": unknown_id("Category")}
    for key in ("categoryId", "subcategoryId"):
        if key in changes:
            changes = {**changes, key: ids[changes[key]]}
    before = await catalog_state()

    body = await graphql(
        client, UPDATE_PRODUCT, {"input": {"id": global_id(runner), **changes}}, token=token
    )

    assert body["data"]["updateProduct"]["product"] is None
    assert errors(body, "updateProduct") == [expected], case
    assert await catalog_state() == before


@pytest.mark.parametrize(
    ("mutation", "document", "variables"),
    [
        ("updateProduct", UPDATE_PRODUCT, lambda id_: {"input": {"id": id_, "name": "Racer"}}),
        ("setProductPublished", SET_PRODUCT_PUBLISHED, lambda id_: {"id": id_, "published": True}),
        ("deleteProduct", DELETE_PRODUCT, lambda id_: {"id": id_}),
        ("deleteProduct", DELETE_PRODUCT, lambda id_: {"id": id_, "hard": True}),
        ("restoreProduct", RESTORE_PRODUCT, lambda id_: {"id": id_}),
    ],
)
async def test_an_unknown_product_is_not_found(
    client: httpx.AsyncClient, mutation: str, document: str, variables: Any
) -> None:
    token = await admin_token(client)

    body = await graphql(client, document, variables(unknown_id("Product")), token=token)

    assert body["data"][mutation]["product"] is None
    assert [error["code"] for error in body["data"][mutation]["errors"]] == ["PRODUCT_NOT_FOUND"]


# --- setProductPublished ----------------------------------------------------------------------


async def test_publishing_shows_a_product_in_the_storefront_and_unpublishing_hides_it(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    runner = await make_product(await make_category("Shoes"), slug="runner", published=False)

    shown = await graphql(
        client, SET_PRODUCT_PUBLISHED, {"id": global_id(runner), "published": True}, token=token
    )
    listed_when_shown = await listed_slugs(client)
    hidden = await graphql(
        client, SET_PRODUCT_PUBLISHED, {"id": global_id(runner), "published": False}, token=token
    )

    assert shown["data"]["setProductPublished"] == {
        "product": {"id": global_id(runner), "published": True, "archived": False},
        "errors": [],
    }
    assert listed_when_shown == ["runner"]
    assert hidden["data"]["setProductPublished"]["product"]["published"] is False
    assert (await stored(runner.id)).published is False
    assert await listed_slugs(client) == []
    assert (await graphql(client, PRODUCT_BY_SLUG, {"slug": "runner"}))["data"]["product"] is None


# --- deleteProduct and restoreProduct ---------------------------------------------------------


async def test_deleting_archives_a_product_hidden_from_the_storefront_but_kept(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    shoes = await make_category("Shoes")
    runner = await make_product(shoes, slug="runner")
    await make_product(shoes, slug="draft", published=False)

    body = await graphql(client, DELETE_PRODUCT, {"id": global_id(runner)}, token=token)

    assert body["data"]["deleteProduct"] == {
        "product": {"id": global_id(runner), "published": False, "archived": True},
        "deletedId": None,
        "errors": [],
    }
    saved = await stored(runner.id)
    assert saved.archived_at is not None
    assert saved.published is False
    assert await listed_slugs(client) == []
    assert (await graphql(client, PRODUCT_BY_SLUG, {"slug": "runner"}))["data"]["product"] is None
    assert await listed_slugs(client, token, includeUnpublished=True) == ["draft"]
    archived = await graphql(client, PRODUCTS, {"filter": {"includeArchived": True}}, token=token)
    assert sorted(
        (edge["node"]["slug"], edge["node"]["archived"])
        for edge in archived["data"]["products"]["edges"]
    ) == [("draft", False), ("runner", True)]
    as_admin = await graphql(client, PRODUCT_BY_SLUG, {"slug": "runner"}, token=token)
    assert as_admin["data"]["product"] == {"slug": "runner", "published": False, "archived": True}


async def test_an_archived_product_cannot_be_published_until_restored(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    runner = await make_product(await make_category("Shoes"), slug="runner")
    await graphql(client, DELETE_PRODUCT, {"id": global_id(runner)}, token=token)
    before = await catalog_state()

    refused = await graphql(
        client, SET_PRODUCT_PUBLISHED, {"id": global_id(runner), "published": True}, token=token
    )

    assert refused["data"]["setProductPublished"]["product"] is None
    assert errors(refused, "setProductPublished") == [("published", "PRODUCT_ARCHIVED")]
    assert await catalog_state() == before

    restored = await graphql(client, RESTORE_PRODUCT, {"id": global_id(runner)}, token=token)

    assert restored["data"]["restoreProduct"] == {
        "product": {"id": global_id(runner), "published": False, "archived": False},
        "errors": [],
    }
    saved = await stored(runner.id)
    assert (saved.archived_at, saved.published) == (None, False)
    assert await listed_slugs(client) == []
    published = await graphql(
        client, SET_PRODUCT_PUBLISHED, {"id": global_id(runner), "published": True}, token=token
    )
    assert published["data"]["setProductPublished"]["errors"] == []
    assert await listed_slugs(client) == ["runner"]


async def test_a_hard_delete_removes_the_product_and_its_stored_images(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    token = await admin_token(client)
    shoes = await make_category("Shoes")
    buffer = BytesIO()
    PillowImage.new("RGB", (8, 8), (10, 20, 30)).save(buffer, "PNG")
    saved_image = await app.state.services.images.save(
        buffer.getvalue(), folder="products", max_bytes=1_000_000
    )
    image_file = settings.media_dir / saved_image.public_id
    assert image_file.exists()
    runner = await make_product(
        shoes,
        slug="runner",
        images=[Image(url=saved_image.url, public_id=saved_image.public_id)],
    )
    other = await make_product(shoes, slug="other")

    body = await graphql(
        client, DELETE_PRODUCT, {"id": global_id(runner), "hard": True}, token=token
    )

    assert body["data"]["deleteProduct"] == {
        "product": None,
        "deletedId": global_id(runner),
        "errors": [],
    }
    assert await Product.get(runner.id) is None
    assert await Product.get(other.id) is not None
    assert not image_file.exists()
    assert await listed_slugs(client, token, includeArchived=True) == ["other"]


# --- what admins and others see ---------------------------------------------------------------


@pytest.mark.parametrize("flag", ["includeUnpublished", "includeArchived"])
async def test_unpublished_and_archived_lists_are_for_admins_only(
    client: httpx.AsyncClient, flag: str
) -> None:
    shoes = await make_category("Shoes")
    await make_product(shoes, slug="live")
    await make_product(shoes, slug="draft", published=False)
    admin = await admin_token(client)
    customer = await user_token(client)

    as_admin = await listed_slugs(client, admin, **{flag: True})
    as_user = await graphql(client, PRODUCTS, {"filter": {flag: True}}, token=customer)
    anonymous = await graphql(client, PRODUCTS, {"filter": {flag: True}})

    assert as_admin == ["draft", "live"]
    assert error_codes(as_user) == ["FORBIDDEN"]
    assert as_user["data"] is None
    assert error_codes(anonymous) == ["UNAUTHENTICATED"]
    assert anonymous["data"] is None


async def test_an_unpublished_product_page_is_shown_to_admins_only(
    client: httpx.AsyncClient,
) -> None:
    await make_product(await make_category("Shoes"), slug="draft", published=False)
    admin = await admin_token(client)
    customer = await user_token(client)

    anonymous = await graphql(client, PRODUCT_BY_SLUG, {"slug": "draft"})
    as_user = await graphql(client, PRODUCT_BY_SLUG, {"slug": "draft"}, token=customer)
    as_admin = await graphql(client, PRODUCT_BY_SLUG, {"slug": "draft"}, token=admin)

    assert anonymous == {"data": {"product": None}, "extensions": anonymous["extensions"]}
    assert as_user["data"] == {"product": None}
    assert as_admin["data"] == {"product": {"slug": "draft", "published": False, "archived": False}}
