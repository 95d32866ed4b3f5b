"""`createCategory`, `updateCategory` and `deleteCategory` (admins only)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from bson import ObjectId
from strawberry import relay

from documents.catalog import Category, Product
from tests.factories import global_id, make_category, make_product
from tests.support import admin_token, catalog_state, graphql
from tests.support import payload_errors as errors

CREATE_CATEGORY = """
mutation CreateCategory($input: CreateCategoryInput!) {
  createCategory(input: $input) {
    category { id name slug description parent { id } subcategories { id } }
    errors { field code message }
  }
}
"""
UPDATE_CATEGORY = """
mutation UpdateCategory($input: UpdateCategoryInput!) {
  updateCategory(input: $input) {
    category { id name slug description }
    errors { field code message }
  }
}
"""
DELETE_CATEGORY = """
mutation DeleteCategory($input: DeleteCategoryInput!) {
  deleteCategory(input: $input) { deletedId errors { field code message } }
}
"""
CATEGORY = """
query Category($slug: String!) {
  category(slug: $slug) { name slug parent { slug } subcategories { slug } }
}
"""


async def stored_category(category_id: Any) -> Category:
    found = await Category.get(category_id)
    assert found is not None
    return found


async def placement(product: Product) -> tuple[Any, Any]:
    found = await Product.get(product.id)
    assert found is not None
    return found.category_id, found.subcategory_id


def unknown_category_id() -> str:
    return str(relay.GlobalID("Category", str(ObjectId())))


# --- createCategory ---------------------------------------------------------------------------


async def test_a_top_level_category_gets_a_slug_made_from_its_name(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)

    body = await graphql(
        client,
        CREATE_CATEGORY,
        {
            "input": {
                "name": "  Café   Shoes ",
                "description": "<p onclick=x>Run</p><script>1</script>",
            }
        },
        token=token,
    )

    payload = body["data"]["createCategory"]
    assert payload["errors"] == []
    assert {key: payload["category"][key] for key in ("name", "slug", "description", "parent")} == {
        "name": "Café Shoes",
        "slug": "cafe-shoes",
        "description": "<p>Run</p>",
        "parent": None,
    }
    stored = await Category.find_one(Category.slug == "cafe-shoes")
    assert stored is not None
    assert (stored.name, stored.parent_id, global_id(stored)) == (
        "Café Shoes",
        None,
        payload["category"]["id"],
    )


async def test_a_second_category_of_the_same_name_gets_the_next_free_slug(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)

    slugs = []
    for _ in range(3):
        body = await graphql(client, CREATE_CATEGORY, {"input": {"name": "Shoes"}}, token=token)
        slugs.append(body["data"]["createCategory"]["category"]["slug"])

    assert slugs == ["shoes", "shoes-2", "shoes-3"]
    assert sorted(c.slug for c in await Category.find_all().to_list()) == slugs


async def test_an_explicit_slug_is_kept(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)

    body = await graphql(
        client, CREATE_CATEGORY, {"input": {"name": "Shoes", "slug": "footwear-2026"}}, token=token
    )

    assert body["data"]["createCategory"]["category"]["slug"] == "footwear-2026"
    assert [c.slug for c in await Category.find_all().to_list()] == ["footwear-2026"]


async def test_a_subcategory_belongs_to_its_top_level_parent(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    shoes = await make_category("Shoes", slug="shoes")

    body = await graphql(
        client,
        CREATE_CATEGORY,
        {"input": {"name": "Running", "parentId": global_id(shoes)}},
        token=token,
    )

    payload = body["data"]["createCategory"]
    assert payload["errors"] == []
    assert payload["category"]["parent"] == {"id": global_id(shoes)}
    assert payload["category"]["subcategories"] == []
    running = await Category.find_one(Category.slug == "running")
    assert running is not None
    assert running.parent_id == shoes.id
    tree = await graphql(client, CATEGORY, {"slug": "shoes"})
    assert tree["data"]["category"]["subcategories"] == [{"slug": "running"}]


async def test_a_name_of_120_characters_is_the_longest_accepted(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)

    body = await graphql(client, CREATE_CATEGORY, {"input": {"name": "x" * 120}}, token=token)

    assert body["data"]["createCategory"]["errors"] == []
    assert body["data"]["createCategory"]["category"]["name"] == "x" * 120


@pytest.mark.parametrize(
    ("case", "changes", "expected"),
    [
        ("slug taken", {"slug": "shoes"}, ("slug", "SLUG_TAKEN")),
        ("slug with spaces", {"slug": "Big Shoes"}, ("slug", "INVALID_SLUG")),
        ("slug with a double hyphen", {"slug": "big--shoes"}, ("slug", "INVALID_SLUG")),
        ("slug starting with a hyphen", {"slug": "-shoes"}, ("slug", "INVALID_SLUG")),
        ("empty slug", {"slug": ""}, ("slug", "INVALID_SLUG")),
        ("one-character name", {"name": "S"}, ("name", "INVALID_NAME")),
        ("blank name", {"name": "   "}, ("name", "INVALID_NAME")),
        ("121-character name", {"name": "x" * 121}, ("name", "INVALID_NAME")),
        (
            "parent is a subcategory",
            {"parentId": "running"},
            ("parentId", "NOT_A_TOP_LEVEL_CATEGORY"),
        ),
        ("unknown parent", {"parentId": "unknown"}, ("parentId", "CATEGORY_NOT_FOUND")),
    ],
)
async def test_an_invalid_category_is_refused_and_nothing_is_written(
    client: httpx.AsyncClient, case: str, changes: dict[str, Any], expected: tuple[str, str]
) -> None:
    token = await admin_token(client)
    shoes = await make_category("Shoes", slug="shoes")
    running = await make_category("Running", parent=shoes, slug="running")
    parents = {"running": global_id(running), "unknown": unknown_category_id()}
    if "parentId" in changes:
        changes = {"parentId": parents[changes["parentId"]]}
    before = await catalog_state()

    body = await graphql(
        client, CREATE_CATEGORY, {"input": {"name": "Boots", **changes}}, token=token
    )

    assert body["data"]["createCategory"]["category"] is None
    assert errors(body, "createCategory") == [expected], case
    assert await catalog_state() == before


# --- updateCategory ---------------------------------------------------------------------------


async def test_an_update_changes_only_the_fields_sent(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    shoes = await make_category("Shoes", slug="shoes", description="<p>All shoes</p>")
    before = await stored_category(shoes.id)

    body = await graphql(
        client,
        UPDATE_CATEGORY,
        {"input": {"id": global_id(shoes), "name": "Footwear"}},
        token=token,
    )

    assert body["data"]["updateCategory"] == {
        "category": {
            "id": global_id(shoes),
            "name": "Footwear",
            "slug": "shoes",
            "description": "<p>All shoes</p>",
        },
        "errors": [],
    }
    after = await stored_category(shoes.id)
    assert after.updated_at >= before.updated_at
    assert after.model_dump(exclude={"name", "updated_at"}) == before.model_dump(
        exclude={"name", "updated_at"}
    )


async def test_the_slug_and_description_can_be_changed(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    shoes = await make_category("Shoes", slug="shoes", description="<p>All shoes</p>")

    body = await graphql(
        client,
        UPDATE_CATEGORY,
        {"input": {"id": global_id(shoes), "slug": "footwear", "description": None}},
        token=token,
    )

    assert body["data"]["updateCategory"]["category"] == {
        "id": global_id(shoes),
        "name": "Shoes",
        "slug": "footwear",
        "description": "",
    }
    after = await stored_category(shoes.id)
    assert (after.name, after.slug, after.description) == ("Shoes", "footwear", "")
    assert (await graphql(client, CATEGORY, {"slug": "shoes"}))["data"]["category"] is None


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"slug": "bags"}, ("slug", "SLUG_TAKEN")),
        ({"slug": "Bags!"}, ("slug", "INVALID_SLUG")),
        ({"name": "x"}, ("name", "INVALID_NAME")),
        ({"name": "x" * 121}, ("name", "INVALID_NAME")),
    ],
)
async def test_an_invalid_update_is_refused_and_nothing_changes(
    client: httpx.AsyncClient, changes: dict[str, Any], expected: tuple[str, str]
) -> None:
    token = await admin_token(client)
    shoes = await make_category("Shoes", slug="shoes")
    await make_category("Bags", slug="bags")
    before = await catalog_state()

    body = await graphql(
        client, UPDATE_CATEGORY, {"input": {"id": global_id(shoes), **changes}}, token=token
    )

    assert body["data"]["updateCategory"]["category"] is None
    assert errors(body, "updateCategory") == [expected]
    assert await catalog_state() == before


async def test_updating_an_unknown_category_is_not_found(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)

    body = await graphql(
        client, UPDATE_CATEGORY, {"input": {"id": unknown_category_id(), "name": "X"}}, token=token
    )

    assert errors(body, "updateCategory") == [("id", "CATEGORY_NOT_FOUND")]


# --- deleteCategory ---------------------------------------------------------------------------


async def test_an_empty_category_is_deleted(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    shoes = await make_category("Shoes", slug="shoes")
    bags = await make_category("Bags", slug="bags")

    body = await graphql(client, DELETE_CATEGORY, {"input": {"id": global_id(shoes)}}, token=token)

    assert body["data"]["deleteCategory"] == {"deletedId": global_id(shoes), "errors": []}
    assert [c.id for c in await Category.find_all().to_list()] == [bags.id]


async def test_a_category_with_products_is_not_deleted_unless_they_are_moved(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    shoes = await make_category("Shoes", slug="shoes")
    await make_product(shoes)
    before = await catalog_state()

    body = await graphql(client, DELETE_CATEGORY, {"input": {"id": global_id(shoes)}}, token=token)

    assert body["data"]["deleteCategory"]["deletedId"] is None
    assert errors(body, "deleteCategory") == [("moveProductsTo", "CATEGORY_NOT_EMPTY")]
    assert await catalog_state() == before


async def test_products_moved_to_another_category_lose_their_subcategory(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    shoes = await make_category("Shoes", slug="shoes")
    running = await make_category("Running", parent=shoes, slug="running")
    bags = await make_category("Bags", slug="bags")
    in_running = [await make_product(running), await make_product(running)]
    in_shoes = await make_product(shoes)
    elsewhere = await make_product(bags)

    body = await graphql(
        client,
        DELETE_CATEGORY,
        {"input": {"id": global_id(running), "moveProductsTo": global_id(bags)}},
        token=token,
    )

    assert body["data"]["deleteCategory"] == {"deletedId": global_id(running), "errors": []}
    assert await Category.get(running.id) is None
    for product in in_running:
        assert await placement(product) == (bags.id, None)
    assert await placement(in_shoes) == (shoes.id, None)
    assert await placement(elsewhere) == (bags.id, None)


async def test_products_moved_to_a_subcategory_take_it_and_its_parent(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    shoes = await make_category("Shoes", slug="shoes")
    bags = await make_category("Bags", slug="bags")
    totes = await make_category("Totes", parent=bags, slug="totes")
    moved = await make_product(shoes)

    body = await graphql(
        client,
        DELETE_CATEGORY,
        {"input": {"id": global_id(shoes), "moveProductsTo": global_id(totes)}},
        token=token,
    )

    assert body["data"]["deleteCategory"]["errors"] == []
    assert await Category.get(shoes.id) is None
    assert await placement(moved) == (bags.id, totes.id)


async def test_a_category_with_subcategories_is_not_deleted_unless_they_are_moved(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    shoes = await make_category("Shoes", slug="shoes")
    await make_category("Running", parent=shoes, slug="running")
    before = await catalog_state()

    body = await graphql(client, DELETE_CATEGORY, {"input": {"id": global_id(shoes)}}, token=token)

    assert errors(body, "deleteCategory") == [("moveSubcategoriesTo", "CATEGORY_NOT_EMPTY")]
    assert await catalog_state() == before


async def test_moved_subcategories_take_their_products_to_the_new_parent(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    shoes = await make_category("Shoes", slug="shoes")
    running = await make_category("Running", parent=shoes, slug="running")
    hiking = await make_category("Hiking", parent=shoes, slug="hiking")
    sports = await make_category("Sports", slug="sports")
    runner = await make_product(running)
    boot = await make_product(hiking)

    body = await graphql(
        client,
        DELETE_CATEGORY,
        {"input": {"id": global_id(shoes), "moveSubcategoriesTo": global_id(sports)}},
        token=token,
    )

    assert body["data"]["deleteCategory"] == {"deletedId": global_id(shoes), "errors": []}
    assert await Category.get(shoes.id) is None
    assert (await stored_category(running.id)).parent_id == sports.id
    assert (await stored_category(hiking.id)).parent_id == sports.id
    assert await placement(runner) == (sports.id, running.id)
    assert await placement(boot) == (sports.id, hiking.id)
    tree = await graphql(client, CATEGORY, {"slug": "sports"})
    assert tree["data"]["category"]["subcategories"] == [{"slug": "hiking"}, {"slug": "running"}]


async def test_both_moves_at_once_keep_subcategory_products_with_their_subcategory(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    shoes = await make_category("Shoes", slug="shoes")
    running = await make_category("Running", parent=shoes, slug="running")
    sports = await make_category("Sports", slug="sports")
    bags = await make_category("Bags", slug="bags")
    direct = await make_product(shoes)
    runner = await make_product(running)
    before = await catalog_state()

    missing_products_move = await graphql(
        client,
        DELETE_CATEGORY,
        {"input": {"id": global_id(shoes), "moveSubcategoriesTo": global_id(sports)}},
        token=token,
    )
    assert errors(missing_products_move, "deleteCategory") == [
        ("moveProductsTo", "CATEGORY_NOT_EMPTY")
    ]
    assert await catalog_state() == before

    body = await graphql(
        client,
        DELETE_CATEGORY,
        {
            "input": {
                "id": global_id(shoes),
                "moveProductsTo": global_id(bags),
                "moveSubcategoriesTo": global_id(sports),
            }
        },
        token=token,
    )

    assert body["data"]["deleteCategory"]["errors"] == []
    assert await placement(direct) == (bags.id, None)
    assert await placement(runner) == (sports.id, running.id)
    assert (await stored_category(running.id)).parent_id == sports.id


@pytest.mark.parametrize(
    ("case", "moves", "expected"),
    [
        (
            "products to itself",
            {"moveProductsTo": "shoes", "moveSubcategoriesTo": "sports"},
            ("moveProductsTo", "INVALID_MOVE"),
        ),
        (
            "products to its own subcategory",
            {"moveProductsTo": "running", "moveSubcategoriesTo": "sports"},
            ("moveProductsTo", "INVALID_MOVE"),
        ),
        (
            "subcategories to itself",
            {"moveProductsTo": "sports", "moveSubcategoriesTo": "shoes"},
            ("moveSubcategoriesTo", "INVALID_MOVE"),
        ),
        (
            "subcategories under a subcategory",
            {"moveProductsTo": "sports", "moveSubcategoriesTo": "trail"},
            ("moveSubcategoriesTo", "NOT_A_TOP_LEVEL_CATEGORY"),
        ),
        (
            "products to an unknown category",
            {"moveProductsTo": "unknown", "moveSubcategoriesTo": "sports"},
            ("moveProductsTo", "CATEGORY_NOT_FOUND"),
        ),
        (
            "subcategories to an unknown category",
            {"moveProductsTo": "sports", "moveSubcategoriesTo": "unknown"},
            ("moveSubcategoriesTo", "CATEGORY_NOT_FOUND"),
        ),
    ],
)
async def test_an_impossible_move_is_refused_and_nothing_changes(
    client: httpx.AsyncClient, case: str, moves: dict[str, str], expected: tuple[str, str]
) -> None:
    token = await admin_token(client)
    shoes = await make_category("Shoes", slug="shoes")
    running = await make_category("Running", parent=shoes, slug="running")
    sports = await make_category("Sports", slug="sports")
    trail = await make_category("Trail", parent=sports, slug="trail")
    await make_product(shoes)
    await make_product(running)
    ids = {
        "shoes": global_id(shoes),
        "running": global_id(running),
        "sports": global_id(sports),
        "trail": global_id(trail),
        "unknown": unknown_category_id(),
    }
    before = await catalog_state()

    body = await graphql(
        client,
        DELETE_CATEGORY,
        {"input": {"id": global_id(shoes), **{k: ids[v] for k, v in moves.items()}}},
        token=token,
    )

    assert body["data"]["deleteCategory"]["deletedId"] is None
    assert errors(body, "deleteCategory") == [expected], case
    assert await catalog_state() == before


async def test_deleting_an_unknown_category_is_not_found(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)

    body = await graphql(
        client, DELETE_CATEGORY, {"input": {"id": unknown_category_id()}}, token=token
    )

    assert errors(body, "deleteCategory") == [("id", "CATEGORY_NOT_FOUND")]
