"""A mutation given the ID of nothing answers the domain's not-found code, naming the argument
the client sent the ID in; a malformed ID or one of another type is BAD_USER_INPUT."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from bson import ObjectId
from strawberry import relay

from tests.factories import global_id, make_category, make_product
from tests.support import admin_token, catalog_state, error_codes, graphql


def missing(type_name: str) -> str:
    return str(relay.GlobalID(type_name, str(ObjectId())))


PRODUCT_ARGUMENTS = [
    (
        "updateProduct",
        'mutation($id: ID!) { updateProduct(input: {id: $id, name: "X y"}) { errors { field code } } }',
        "id",
    ),
    (
        "setProductPublished",
        "mutation($id: ID!) { setProductPublished(id: $id, published: true) { errors { field code } } }",
        "id",
    ),
    (
        "deleteProduct",
        "mutation($id: ID!) { deleteProduct(id: $id) { errors { field code } } }",
        "id",
    ),
    (
        "restoreProduct",
        "mutation($id: ID!) { restoreProduct(id: $id) { errors { field code } } }",
        "id",
    ),
    (
        "adjustStock",
        'mutation($id: ID!) { adjustStock(input: {productId: $id, delta: 1, reason: "r"}) { errors { field code } } }',
        "productId",
    ),
    (
        "setStock",
        'mutation($id: ID!) { setStock(input: {productId: $id, stock: 1, reason: "r"}) { errors { field code } } }',
        "productId",
    ),
    (
        "removeProductImage",
        'mutation($id: ID!) { removeProductImage(productId: $id, imageId: "x") { errors { field code } } }',
        "productId",
    ),
    (
        "updateCategory",
        'mutation($id: ID!) { updateCategory(input: {id: $id, name: "X y"}) { errors { field code } } }',
        "id",
    ),
    (
        "deleteCategory",
        "mutation($id: ID!) { deleteCategory(input: {id: $id}) { errors { field code } } }",
        "id",
    ),
    (
        "removeCategoryImage",
        "mutation($id: ID!) { removeCategoryImage(categoryId: $id) { errors { field code } } }",
        "categoryId",
    ),
]


@pytest.mark.parametrize(("mutation", "document", "field"), PRODUCT_ARGUMENTS)
async def test_an_id_of_nothing_names_the_argument_it_came_in(
    client: httpx.AsyncClient, mutation: str, document: str, field: str
) -> None:
    token = await admin_token(client)
    await make_product(await make_category("Shoes"))
    type_name = "Category" if "Category" in mutation else "Product"
    before = await catalog_state()

    body = await graphql(client, document, {"id": missing(type_name)}, token=token)

    code = "CATEGORY_NOT_FOUND" if type_name == "Category" else "PRODUCT_NOT_FOUND"
    assert body["data"][mutation]["errors"] == [{"field": field, "code": code}]
    assert await catalog_state() == before


@pytest.mark.parametrize(("mutation", "document", "field"), PRODUCT_ARGUMENTS)
async def test_a_malformed_or_foreign_id_is_bad_user_input(
    client: httpx.AsyncClient, mutation: str, document: str, field: str
) -> None:
    token = await admin_token(client)
    # A Product ID where a Category is expected, or the other way round.
    foreign = missing("Product" if "Category" in mutation else "Category")

    for value in ("not-an-id", foreign):
        body = await graphql(client, document, {"id": value}, token=token)

        assert error_codes(body) == ["BAD_USER_INPUT"]
        assert body["errors"][0]["extensions"]["field"] == field


async def test_a_move_target_of_nothing_names_its_argument(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    shoes = await make_category("Shoes")
    await make_product(shoes)
    delete = """
    mutation($input: DeleteCategoryInput!) { deleteCategory(input: $input) { errors { field code } } }
    """
    variables: dict[str, Any] = {"id": global_id(shoes)}

    for argument in ("moveProductsTo", "moveSubcategoriesTo"):
        body = await graphql(
            client, delete, {"input": {**variables, argument: missing("Category")}}, token=token
        )

        assert body["data"]["deleteCategory"]["errors"] == [
            {"field": argument, "code": "CATEGORY_NOT_FOUND"}
        ]
