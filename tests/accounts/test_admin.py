"""Administration: who may use it, roles, disabling, the user list, and the create-admin command."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image as PillowImage
from starlette.applications import Starlette
from strawberry import relay
from strawberry.types.base import StrawberryObjectDefinition

import server
from documents.accounts import AuthSession, RefreshToken, Role, User, password_matches
from documents.catalog import Category, Product, StockMovement
from documents.common import Image
from documents.orders import Order
from documents.reviews import Review
from resolvers.accounts import admin as admin_resolvers
from schema.permissions import IsAdmin
from schema.root import build_schema
from settings import Settings
from tests.factories import (
    BASE_TIME,
    DEFAULT_PASSWORD,
    global_id,
    make_category,
    make_order,
    make_paid_order,
    make_product,
    make_review,
    make_user,
)
from tests.support import LOGIN, access_token_for, error_codes, graphql, login, payload_codes

USERS = """
query Users($first: Int, $after: String, $search: String) {
  users(first: $first, after: $after, search: $search) {
    totalCount
    edges { cursor node { email name role } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""
SET_USER_ROLE = """
mutation SetUserRole($userId: ID!, $role: Role!) {
  setUserRole(userId: $userId, role: $role) {
    user { id email role disabled }
    errors { field code message }
  }
}
"""
SET_USER_DISABLED = """
mutation SetUserDisabled($userId: ID!, $disabled: Boolean!) {
  setUserDisabled(userId: $userId, disabled: $disabled) {
    user { id email role disabled }
    errors { field code message }
  }
}
"""
REFRESH = """
mutation Refresh($token: String) {
  refreshToken(token: $token) { accessToken errors { field code } }
}
"""
ME = "{ me { email role } }"

# One document per admin-only field the permission test calls.
CREATE_CATEGORY = """
mutation CreateCategory($input: CreateCategoryInput!) {
  createCategory(input: $input) { category { id } errors { code } }
}
"""
UPDATE_CATEGORY = """
mutation UpdateCategory($input: UpdateCategoryInput!) {
  updateCategory(input: $input) { category { id } errors { code } }
}
"""
DELETE_CATEGORY = """
mutation DeleteCategory($input: DeleteCategoryInput!) {
  deleteCategory(input: $input) { deletedId errors { code } }
}
"""
CREATE_PRODUCT = """
mutation CreateProduct($input: CreateProductInput!) {
  createProduct(input: $input) { product { id } errors { code } }
}
"""
UPDATE_PRODUCT = """
mutation UpdateProduct($input: UpdateProductInput!) {
  updateProduct(input: $input) { product { id } errors { code } }
}
"""
SET_PRODUCT_PUBLISHED = """
mutation SetProductPublished($id: ID!, $published: Boolean!) {
  setProductPublished(id: $id, published: $published) { product { id } errors { code } }
}
"""
DELETE_PRODUCT = """
mutation DeleteProduct($id: ID!, $hard: Boolean!) {
  deleteProduct(id: $id, hard: $hard) { deletedId errors { code } }
}
"""
RESTORE_PRODUCT = """
mutation RestoreProduct($id: ID!) { restoreProduct(id: $id) { product { id } errors { code } } }
"""
ADJUST_STOCK = """
mutation AdjustStock($input: AdjustStockInput!) {
  adjustStock(input: $input) { stockMovement { id } errors { code } }
}
"""
SET_STOCK = """
mutation SetStock($input: SetStockInput!) {
  setStock(input: $input) { stockMovement { id } errors { code } }
}
"""
STOCK_MOVEMENTS = """
query StockMovements($slug: String!) {
  product(slug: $slug) { name stockMovements(first: 5) { totalCount } }
}
"""
ADD_PRODUCT_IMAGE = """
mutation AddProductImage($productId: ID!, $file: Upload!) {
  addProductImage(productId: $productId, file: $file) { image { id } errors { code } }
}
"""
REMOVE_PRODUCT_IMAGE = """
mutation RemoveProductImage($productId: ID!, $imageId: String!) {
  removeProductImage(productId: $productId, imageId: $imageId) { product { id } errors { code } }
}
"""
REORDER_PRODUCT_IMAGES = """
mutation ReorderProductImages($productId: ID!, $imageIds: [String!]!) {
  reorderProductImages(productId: $productId, imageIds: $imageIds) {
    product { id }
    errors { code }
  }
}
"""
UPDATE_PRODUCT_IMAGE = """
mutation UpdateProductImage($productId: ID!, $imageId: String!, $alt: String!) {
  updateProductImage(productId: $productId, imageId: $imageId, alt: $alt) {
    product { id }
    errors { code }
  }
}
"""
SET_CATEGORY_IMAGE = """
mutation SetCategoryImage($categoryId: ID!, $file: Upload!) {
  setCategoryImage(categoryId: $categoryId, file: $file) { category { id } errors { code } }
}
"""
REMOVE_CATEGORY_IMAGE = """
mutation RemoveCategoryImage($categoryId: ID!) {
  removeCategoryImage(categoryId: $categoryId) { category { id } errors { code } }
}
"""
IMPORT_PRODUCTS = """
mutation ImportProducts($file: Upload!) {
  importProducts(file: $file) { created updated failed errors { code } }
}
"""
PRODUCT_EXPORT_URL = "query ProductExportUrl { productExportUrl }"


@dataclass(frozen=True)
class Targets:
    """What the admin operations act on."""

    customer: User  # a plain user: for a signed-in USER caller, setUserRole is self-promotion
    category: Category  # top-level, with an image and `product`
    empty_category: Category
    product: Product  # published, in stock, with one image kept elsewhere (its URL is its id)
    order: Order  # the customer's, confirmed
    paid_order: Order  # the customer's, paid online
    review: Review  # of another product, by another buyer


Upload = tuple[str, bytes, str]


@dataclass(frozen=True)
class AdminOperation:
    """An admin-only field called with minimal valid arguments: an admin would succeed."""

    document: str
    variables: Callable[[Targets], dict[str, Any]]
    # Upload variables, sent as a GraphQL multipart request.
    uploads: Callable[[Targets], dict[str, Upload]] | None = None
    # Where the denial is reported, and the data left, for a field below the root.
    path: tuple[str, ...] | None = None
    denied_data: dict[str, Any] | None = None


def png() -> Upload:
    buffer = BytesIO()
    PillowImage.new("RGB", (4, 3), (200, 80, 20)).save(buffer, "PNG")
    return ("picture.png", buffer.getvalue(), "image/png")


def product_csv(targets: Targets) -> Upload:
    rows = f"slug,name,price,category_slug\nnew-runner,New Runner,10.00,{targets.category.slug}\n"
    return ("products.csv", rows.encode(), "text/csv")


def product_image_id(targets: Targets) -> str:
    return targets.product.images[0].url


# Every admin-only field of the schema, by "Type.field".
ADMIN_OPERATIONS: dict[str, AdminOperation] = {
    "Query.users": AdminOperation(USERS, lambda t: {"first": 10, "search": "example"}),
    "Query.productExportUrl": AdminOperation(PRODUCT_EXPORT_URL, lambda t: {}),
    "Mutation.setUserRole": AdminOperation(
        SET_USER_ROLE, lambda t: {"userId": user_id(t.customer), "role": "ADMIN"}
    ),
    "Mutation.setUserDisabled": AdminOperation(
        SET_USER_DISABLED, lambda t: {"userId": user_id(t.customer), "disabled": True}
    ),
    "Mutation.createCategory": AdminOperation(
        CREATE_CATEGORY, lambda t: {"input": {"name": "Boots"}}
    ),
    "Mutation.updateCategory": AdminOperation(
        UPDATE_CATEGORY, lambda t: {"input": {"id": global_id(t.category), "name": "Footwear"}}
    ),
    "Mutation.deleteCategory": AdminOperation(
        DELETE_CATEGORY, lambda t: {"input": {"id": global_id(t.empty_category)}}
    ),
    "Mutation.createProduct": AdminOperation(
        CREATE_PRODUCT,
        lambda t: {
            "input": {"name": "Boot", "price": "10.00", "categoryId": global_id(t.category)}
        },
    ),
    "Mutation.updateProduct": AdminOperation(
        UPDATE_PRODUCT, lambda t: {"input": {"id": global_id(t.product), "price": "12.00"}}
    ),
    "Mutation.setProductPublished": AdminOperation(
        SET_PRODUCT_PUBLISHED, lambda t: {"id": global_id(t.product), "published": False}
    ),
    "Mutation.deleteProduct": AdminOperation(
        DELETE_PRODUCT, lambda t: {"id": global_id(t.product), "hard": True}
    ),
    "Mutation.restoreProduct": AdminOperation(
        RESTORE_PRODUCT, lambda t: {"id": global_id(t.product)}
    ),
    "Mutation.adjustStock": AdminOperation(
        ADJUST_STOCK,
        lambda t: {"input": {"productId": global_id(t.product), "delta": -1, "reason": "Lost"}},
    ),
    "Mutation.setStock": AdminOperation(
        SET_STOCK,
        lambda t: {"input": {"productId": global_id(t.product), "stock": 0, "reason": "Count"}},
    ),
    "Mutation.addProductImage": AdminOperation(
        ADD_PRODUCT_IMAGE,
        lambda t: {"productId": global_id(t.product)},
        uploads=lambda t: {"file": png()},
    ),
    "Mutation.removeProductImage": AdminOperation(
        REMOVE_PRODUCT_IMAGE,
        lambda t: {"productId": global_id(t.product), "imageId": product_image_id(t)},
    ),
    "Mutation.reorderProductImages": AdminOperation(
        REORDER_PRODUCT_IMAGES,
        lambda t: {"productId": global_id(t.product), "imageIds": [product_image_id(t)]},
    ),
    "Mutation.updateProductImage": AdminOperation(
        UPDATE_PRODUCT_IMAGE,
        lambda t: {
            "productId": global_id(t.product),
            "imageId": product_image_id(t),
            "alt": "A red shoe",
        },
    ),
    "Mutation.setCategoryImage": AdminOperation(
        SET_CATEGORY_IMAGE,
        lambda t: {"categoryId": global_id(t.category)},
        uploads=lambda t: {"file": png()},
    ),
    "Mutation.removeCategoryImage": AdminOperation(
        REMOVE_CATEGORY_IMAGE, lambda t: {"categoryId": global_id(t.category)}
    ),
    "Mutation.importProducts": AdminOperation(
        IMPORT_PRODUCTS, lambda t: {}, uploads=lambda t: {"file": product_csv(t)}
    ),
    "Query.orders": AdminOperation(
        "query { orders(first: 5) { totalCount edges { node { number } } } }", lambda t: {}
    ),
    "Query.salesSummary": AdminOperation(
        "query($from: DateTime!, $to: DateTime!) { salesSummary(from: $from, to: $to) { orders } }",
        lambda t: {"from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z"},
    ),
    "Mutation.updateOrderStatus": AdminOperation(
        "mutation($id: ID!) { updateOrderStatus(id: $id, status: PACKED) { errors { code } } }",
        lambda t: {"id": global_id(t.order)},
    ),
    "Mutation.refundPayment": AdminOperation(
        'mutation($id: ID!) { refundPayment(input: {orderId: $id, idempotencyKey: "k"}) '
        "{ errors { code } } }",
        lambda t: {"id": global_id(t.paid_order)},
    ),
    "Product.orders": AdminOperation(
        "query($slug: String!) { product(slug: $slug) { orders(first: 5) { totalCount } } }",
        lambda t: {"slug": t.product.slug},
        path=("product", "orders"),
        denied_data={"product": None},
    ),
    "Query.reviews": AdminOperation(
        "query { reviews(first: 5, filter: {hidden: false}) { totalCount } }", lambda t: {}
    ),
    "Mutation.hideReview": AdminOperation(
        'mutation($id: ID!) { hideReview(input: {id: $id, reason: "Spam"}) { errors { code } } }',
        lambda t: {"id": global_id(t.review)},
    ),
    "Mutation.unhideReview": AdminOperation(
        "mutation($id: ID!) { unhideReview(id: $id) { errors { code } } }",
        lambda t: {"id": global_id(t.review)},
    ),
    "Review.author": AdminOperation(
        "query($id: ID!) { node(id: $id) { ... on Review { author { email } } } }",
        lambda t: {"id": global_id(t.review)},
        path=("node", "author"),
        denied_data={"node": {"author": None}},
    ),
    "Product.stockMovements": AdminOperation(
        STOCK_MOVEMENTS,
        lambda t: {"slug": t.product.slug},
        path=("product", "stockMovements"),
        denied_data={"product": None},
    ),
}


def user_id(user: User) -> str:
    return str(relay.GlobalID("User", str(user.id)))


async def access_token(app: Starlette, user: User) -> str:
    return await access_token_for(app, user)


async def database_state() -> dict[str, list[dict[str, Any]]]:
    """Everything the admin operations could change, to compare before and after a denial."""
    return {
        document.Settings.name: await document.get_pymongo_collection()
        .find({}, sort=[("_id", 1)])
        .to_list()
        for document in (
            User,
            AuthSession,
            RefreshToken,
            Category,
            Product,
            StockMovement,
            Order,
            Review,
        )
    }


def media_files(settings: Settings) -> set[Path]:
    """The files of the local image store."""
    return set(settings.media_dir.rglob("*")) if settings.media_dir.exists() else set()


async def role_of(user: User) -> Role:
    stored = await User.get(user.id)
    assert stored is not None
    return stored.role


async def active_admins() -> list[str]:
    admins = await User.find(User.role == Role.ADMIN, User.disabled == False).to_list()  # noqa: E712
    return sorted(admin.email for admin in admins)


async def make_targets() -> Targets:
    await make_user("admin@example.com", role=Role.ADMIN)
    category = await make_category(
        "Shoes", image=Image(url="https://img.test/shoes.jpg", alt="Shoes")
    )
    customer = await make_user("customer@example.com")
    product = await make_product(category, slug="runner", stock=5)
    return Targets(
        customer=customer,
        category=category,
        empty_category=await make_category("Empty"),
        product=product,
        # Of another product: `product` is deleted for good by one of the operations.
        order=await make_order(customer, (await make_product(category, slug="ordered"), 1)),
        paid_order=await make_paid_order(customer, (await make_product(category, slug="paid"), 1)),
        review=await make_review(await make_product(category, slug="reviewed")),
    )


async def call(
    client: httpx.AsyncClient, operation: AdminOperation, targets: Targets, token: str | None
) -> dict[str, Any]:
    """Send the operation as a client would: JSON, or a multipart request when it uploads."""
    variables = operation.variables(targets)
    if operation.uploads is None:
        return await graphql(client, operation.document, variables, token=token)
    uploads = operation.uploads(targets)
    files = {str(number): upload for number, upload in enumerate(uploads.values())}
    mapping = {str(number): [f"variables.{name}"] for number, name in enumerate(uploads)}
    headers = {"apollo-require-preflight": "true"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    response = await client.post(
        "/graphql",
        data={
            "operations": json.dumps(
                {"query": operation.document, "variables": {**variables, **dict.fromkeys(uploads)}}
            ),
            "map": json.dumps(mapping),
        },
        files=files,
        headers=headers,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# --- who may use it --------------------------------------------------------------------------


@pytest.mark.parametrize("caller", ["anonymous", "user"])
@pytest.mark.parametrize("operation", sorted(ADMIN_OPERATIONS))
async def test_admin_operations_refuse_anonymous_callers_and_users(
    app: Starlette, client: httpx.AsyncClient, settings: Settings, operation: str, caller: str
) -> None:
    targets = await make_targets()
    token = await access_token(app, targets.customer) if caller == "user" else None
    admin_operation = ADMIN_OPERATIONS[operation]
    before = await database_state()
    files_before = media_files(settings)

    body = await call(client, admin_operation, targets, token)

    assert body["data"] == admin_operation.denied_data
    assert error_codes(body) == ["UNAUTHENTICATED" if caller == "anonymous" else "FORBIDDEN"]
    path = admin_operation.path or (operation.split(".")[1],)
    assert body["errors"][0]["path"] == list(path)
    assert await database_state() == before
    assert media_files(settings) == files_before


@pytest.mark.parametrize("operation", sorted(ADMIN_OPERATIONS))
async def test_admin_operations_succeed_for_an_admin_with_the_same_arguments(
    app: Starlette, client: httpx.AsyncClient, operation: str
) -> None:
    """So the denials above come from the permission check, not from the arguments."""
    targets = await make_targets()
    admin = await User.find_one(User.email == "admin@example.com")
    assert admin is not None

    body = await call(client, ADMIN_OPERATIONS[operation], targets, await access_token(app, admin))

    assert "errors" not in body, body
    for result in body["data"].values():
        if isinstance(result, dict) and "errors" in result:
            assert result["errors"] == [], result
            assert result.get("failed", 0) == 0, result  # importProducts reports rows apart


def test_every_admin_only_field_is_covered_by_the_permission_test() -> None:
    schema = build_schema()
    guarded = set()
    for type_name in schema._schema.type_map:
        definition = schema.get_type_by_name(type_name)
        if not isinstance(definition, StrawberryObjectDefinition) or definition.is_input:
            continue
        for field in definition.fields:
            if any(issubclass(permission, IsAdmin) for permission in field.permission_classes):
                field_name = schema.config.name_converter.get_graphql_name(field)
                guarded.add(f"{type_name}.{field_name}")

    assert guarded == set(ADMIN_OPERATIONS)


# --- setUserRole ------------------------------------------------------------------------------


async def test_an_admin_promotes_a_user_who_can_then_administer(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    admin = await make_user("admin@example.com", role=Role.ADMIN)
    customer = await make_user("customer@example.com")
    customer_token = await access_token(app, customer)

    body = await graphql(
        client,
        SET_USER_ROLE,
        {"userId": user_id(customer), "role": "ADMIN"},
        token=await access_token(app, admin),
    )

    assert body["data"]["setUserRole"] == {
        "user": {
            "id": user_id(customer),
            "email": "customer@example.com",
            "role": "ADMIN",
            "disabled": False,
        },
        "errors": [],
    }
    assert await role_of(customer) is Role.ADMIN
    # The role is read from the database on every request, not from the (older) access token.
    assert error_codes(await graphql(client, USERS, token=customer_token)) == []


async def test_an_admin_demotes_another_admin_whose_token_loses_admin_rights_at_once(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    admin = await make_user("admin@example.com", role=Role.ADMIN)
    other = await make_user("other@example.com", role=Role.ADMIN)
    other_token = await access_token(app, other)

    body = await graphql(
        client,
        SET_USER_ROLE,
        {"userId": user_id(other), "role": "USER"},
        token=await access_token(app, admin),
    )

    assert body["data"]["setUserRole"]["errors"] == []
    assert body["data"]["setUserRole"]["user"]["role"] == "USER"
    assert await role_of(other) is Role.USER
    assert error_codes(await graphql(client, USERS, token=other_token)) == ["FORBIDDEN"]


async def test_setting_the_role_a_user_already_has_changes_nothing(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    admin = await make_user("admin@example.com", role=Role.ADMIN)
    token = await access_token(app, admin)
    before = await database_state()

    body = await graphql(
        client, SET_USER_ROLE, {"userId": user_id(admin), "role": "ADMIN"}, token=token
    )

    assert body["data"]["setUserRole"]["errors"] == []
    assert body["data"]["setUserRole"]["user"]["role"] == "ADMIN"
    assert await database_state() == before


async def test_the_last_active_admin_cannot_be_demoted(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    admin = await make_user("admin@example.com", role=Role.ADMIN)
    # A disabled admin does not count: they cannot sign in to run the shop.
    await make_user("retired@example.com", role=Role.ADMIN, disabled=True)
    token = await access_token(app, admin)
    before = await database_state()

    body = await graphql(
        client, SET_USER_ROLE, {"userId": user_id(admin), "role": "USER"}, token=token
    )

    assert body["data"]["setUserRole"]["user"] is None
    assert [(e["field"], e["code"]) for e in body["data"]["setUserRole"]["errors"]] == [
        ("userId", "LAST_ADMIN")
    ]
    assert await role_of(admin) is Role.ADMIN
    assert await database_state() == before


async def test_an_admin_may_demote_themselves_while_another_admin_remains(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    admin = await make_user("admin@example.com", role=Role.ADMIN)
    await make_user("other@example.com", role=Role.ADMIN)
    token = await access_token(app, admin)

    body = await graphql(
        client, SET_USER_ROLE, {"userId": user_id(admin), "role": "USER"}, token=token
    )

    assert body["data"]["setUserRole"]["errors"] == []
    assert await role_of(admin) is Role.USER
    assert await active_admins() == ["other@example.com"]
    assert error_codes(await graphql(client, USERS, token=token)) == ["FORBIDDEN"]


@pytest.mark.parametrize(
    ("mutation", "document", "removal"),
    [
        ("setUserRole", SET_USER_ROLE, {"role": "USER"}),
        ("setUserDisabled", SET_USER_DISABLED, {"disabled": True}),
    ],
)
async def test_two_admins_removing_each_other_at_once_leave_exactly_one_admin(
    app: Starlette,
    client: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
    mutation: str,
    document: str,
    removal: dict[str, Any],
) -> None:
    # Both requests pass their permission check before either change starts; otherwise the one
    # checked second may just find its admin already removed (FORBIDDEN), and the race this test
    # is about, between the two transactions, never happens.
    operation = "set_user_role" if mutation == "setUserRole" else "set_user_disabled"
    original = getattr(admin_resolvers, operation)
    both_checked = asyncio.Barrier(2)

    async def after_both_checks(*args: Any) -> Any:
        await both_checked.wait()
        return await original(*args)

    monkeypatch.setattr(admin_resolvers, operation, after_both_checks)
    for round_number in range(8):
        await User.get_pymongo_collection().delete_many({})
        a = await make_user(f"a{round_number}@example.com", role=Role.ADMIN)
        b = await make_user(f"b{round_number}@example.com", role=Role.ADMIN)
        a_token, b_token = await access_token(app, a), await access_token(app, b)

        bodies = await asyncio.gather(
            graphql(client, document, {"userId": user_id(b), **removal}, token=a_token),
            graphql(client, document, {"userId": user_id(a), **removal}, token=b_token),
        )

        outcomes = sorted(outcome(body, mutation) for body in bodies)
        assert outcomes == ["LAST_ADMIN", "ok"], (round_number, bodies)
        assert len(await active_admins()) == 1, round_number


@pytest.mark.parametrize(
    ("mutation", "document", "removal", "target_fields", "activation"),
    [
        # A disabled admin is read, re-enabled meanwhile, then demoted.
        (
            "setUserRole",
            SET_USER_ROLE,
            {"role": "USER"},
            {"role": Role.ADMIN, "disabled": True},
            (SET_USER_DISABLED, "setUserDisabled", {"disabled": False}),
        ),
        # A user is read, promoted meanwhile, then disabled.
        (
            "setUserDisabled",
            SET_USER_DISABLED,
            {"disabled": True},
            {"role": Role.USER},
            (SET_USER_ROLE, "setUserRole", {"role": "ADMIN"}),
        ),
    ],
)
async def test_a_change_decided_on_an_outdated_read_still_leaves_an_active_admin(
    app: Starlette,
    client: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
    mutation: str,
    document: str,
    removal: dict[str, Any],
    target_fields: dict[str, Any],
    activation: tuple[str, str, dict[str, Any]],
) -> None:
    a = await make_user("a@example.com", role=Role.ADMIN)
    target = await make_user("target@example.com", **target_fields)
    a_token, target_token = await access_token(app, a), await access_token(app, target)
    read, release = asyncio.Event(), asyncio.Event()
    original_target = admin_resolvers._target

    async def slow_target(user_id: Any) -> User:
        # The first read of the target is held back until the rest of the story has happened.
        found = await original_target(user_id)
        if not read.is_set():
            read.set()
            await release.wait()
        return found

    monkeypatch.setattr(admin_resolvers, "_target", slow_target)
    outdated = asyncio.create_task(
        graphql(client, document, {"userId": user_id(target), **removal}, token=a_token)
    )
    await read.wait()
    activate, activating_mutation, variables = activation
    made_active = await graphql(
        client, activate, {"userId": user_id(target), **variables}, token=a_token
    )
    a_demoted = await graphql(
        client, SET_USER_ROLE, {"userId": user_id(a), "role": "USER"}, token=target_token
    )
    release.set()
    body = await outdated

    assert outcome(made_active, activating_mutation) == "ok"
    assert outcome(a_demoted, "setUserRole") == "ok"
    assert outcome(body, mutation) == "LAST_ADMIN"
    assert await active_admins() == ["target@example.com"]


def outcome(body: dict[str, Any], mutation: str) -> str:
    """ "ok", the payload's error code, or the top-level one."""
    if body.get("errors"):
        return ",".join(error_codes(body))
    codes = payload_codes(body, mutation)
    return ",".join(codes) if codes else "ok"


# --- setUserDisabled --------------------------------------------------------------------------


async def test_disabling_a_user_ends_their_sessions_at_once_and_refuses_sign_in(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    admin_token = await access_token(app, await make_user("admin@example.com", role=Role.ADMIN))
    customer = await make_user("customer@example.com")
    signed_in = await login(client, "customer@example.com", DEFAULT_PASSWORD)

    body = await graphql(
        client,
        SET_USER_DISABLED,
        {"userId": user_id(customer), "disabled": True},
        token=admin_token,
    )

    assert body["data"]["setUserDisabled"]["errors"] == []
    assert body["data"]["setUserDisabled"]["user"]["disabled"] is True
    assert error_codes(await graphql(client, ME, token=signed_in["accessToken"])) == [
        "UNAUTHENTICATED"
    ]
    refreshed = await graphql(client, REFRESH, {"token": signed_in["refreshToken"]})
    assert payload_codes(refreshed, "refreshToken")[0] in {
        "INVALID_REFRESH_TOKEN",
        "ACCOUNT_DISABLED",
    }
    assert refreshed["data"]["refreshToken"]["accessToken"] is None
    assert (
        await AuthSession.find(
            AuthSession.user_id == customer.id,
            AuthSession.revoked_at == None,  # noqa: E711
        ).count()
        == 0
    )
    denied = await graphql(
        client, LOGIN, {"input": {"email": "customer@example.com", "password": DEFAULT_PASSWORD}}
    )
    assert payload_codes(denied, "login") == ["ACCOUNT_DISABLED"]
    assert denied["data"]["login"]["accessToken"] is None


async def test_a_re_enabled_user_signs_in_again_but_old_sessions_stay_ended(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    admin_token = await access_token(app, await make_user("admin@example.com", role=Role.ADMIN))
    customer = await make_user("customer@example.com")
    old = await login(client, "customer@example.com", DEFAULT_PASSWORD)
    for disabled in (True, False):
        body = await graphql(
            client,
            SET_USER_DISABLED,
            {"userId": user_id(customer), "disabled": disabled},
            token=admin_token,
        )
        assert body["data"]["setUserDisabled"]["errors"] == []

    again = await login(client, "customer@example.com", DEFAULT_PASSWORD)

    assert (await graphql(client, ME, token=again["accessToken"]))["data"]["me"]["email"] == (
        "customer@example.com"
    )
    assert error_codes(await graphql(client, ME, token=old["accessToken"])) == ["UNAUTHENTICATED"]
    refreshed = await graphql(client, REFRESH, {"token": old["refreshToken"]})
    assert payload_codes(refreshed, "refreshToken") == ["INVALID_REFRESH_TOKEN"]


async def test_the_last_active_admin_cannot_be_disabled(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    admin = await make_user("admin@example.com", role=Role.ADMIN)
    await make_user("retired@example.com", role=Role.ADMIN, disabled=True)
    token = await access_token(app, admin)
    before = await database_state()

    body = await graphql(
        client, SET_USER_DISABLED, {"userId": user_id(admin), "disabled": True}, token=token
    )

    assert [(e["field"], e["code"]) for e in body["data"]["setUserDisabled"]["errors"]] == [
        ("userId", "LAST_ADMIN")
    ]
    assert await database_state() == before
    assert error_codes(await graphql(client, ME, token=token)) == []


async def test_an_admin_may_be_disabled_while_another_admin_remains(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    admin = await make_user("admin@example.com", role=Role.ADMIN)
    other = await make_user("other@example.com", role=Role.ADMIN)
    other_token = await access_token(app, other)

    body = await graphql(
        client,
        SET_USER_DISABLED,
        {"userId": user_id(other), "disabled": True},
        token=await access_token(app, admin),
    )

    assert body["data"]["setUserDisabled"]["errors"] == []
    assert await active_admins() == ["admin@example.com"]
    assert error_codes(await graphql(client, USERS, token=other_token)) == ["UNAUTHENTICATED"]


# --- users ------------------------------------------------------------------------------------


# The accounts `make_people` creates, as `users` lists them.
EVERYONE_NEWEST_FIRST = [
    "zoe@example.com",
    "rahul@example.org",
    "mk.sharma@example.com",
    "ravi@example.com",
    "asha@example.com",
    "admin@example.com",
]


async def make_people() -> None:
    """An admin and five customers, created a minute apart (the admin first)."""
    await make_user("admin@example.com", name="Shop Admin", role=Role.ADMIN, created_at=BASE_TIME)
    people = [
        ("asha@example.com", "Asha Rao"),
        ("ravi@example.com", "Ravi Kumar"),
        ("mk.sharma@example.com", "Meera Rao"),
        ("rahul@example.org", "Rahul Iyer"),
        ("zoe@example.com", "Zoë Ng"),
    ]
    for minute, (email, name) in enumerate(people, start=1):
        await make_user(email, name=name, created_at=BASE_TIME + timedelta(minutes=minute))


async def users_page(client: httpx.AsyncClient, token: str, **variables: Any) -> dict[str, Any]:
    body = await graphql(client, USERS, variables, token=token)
    assert "errors" not in body, body
    page: dict[str, Any] = body["data"]["users"]
    return page


def emails(page: dict[str, Any]) -> list[str]:
    return [edge["node"]["email"] for edge in page["edges"]]


async def test_users_are_listed_newest_first_page_by_page(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await make_people()
    admin = await User.find_one(User.email == "admin@example.com")
    assert admin is not None
    token = await access_token(app, admin)

    first = await users_page(client, token, first=2)
    second = await users_page(client, token, first=2, after=first["pageInfo"]["endCursor"])
    third = await users_page(client, token, first=2, after=second["pageInfo"]["endCursor"])

    assert emails(first) == ["zoe@example.com", "rahul@example.org"]
    assert emails(second) == ["mk.sharma@example.com", "ravi@example.com"]
    assert emails(third) == ["asha@example.com", "admin@example.com"]
    assert [page["totalCount"] for page in (first, second, third)] == [6, 6, 6]
    assert [page["pageInfo"]["hasNextPage"] for page in (first, second, third)] == [
        True,
        True,
        False,
    ]
    assert third["pageInfo"]["hasPreviousPage"] is True
    assert first["pageInfo"]["endCursor"] == first["edges"][-1]["cursor"]
    assert emails(await users_page(client, token)) == EVERYONE_NEWEST_FIRST


async def test_users_are_searched_by_the_start_of_the_email_or_part_of_the_name(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await make_people()
    admin = await User.find_one(User.email == "admin@example.com")
    assert admin is not None
    token = await access_token(app, admin)

    async def search(text: str, **variables: Any) -> tuple[list[str], int]:
        page = await users_page(client, token, search=text, **variables)
        return emails(page), page["totalCount"]

    # The email part ignores case and takes the text literally: "MK.S" is not a pattern.
    assert await search("MK.S") == (["mk.sharma@example.com"], 1)
    assert await search("mk*") == ([], 0)
    assert await search(" ravi@example.com ") == (["ravi@example.com"], 1)
    assert await search("rao") == (["mk.sharma@example.com", "asha@example.com"], 2)
    assert await search("kum") == (["ravi@example.com"], 1)
    assert await search("zoë") == (["zoe@example.com"], 1)
    # Only the start of the email: "example" is in every address but starts none.
    assert await search("example") == ([], 0)
    # The search is text, not a pattern.
    assert await search(".*") == ([], 0)
    assert await search("(") == ([], 0)
    first = await users_page(client, token, search="rao", first=1)
    rest = await users_page(
        client, token, search="rao", first=1, after=first["pageInfo"]["endCursor"]
    )
    assert (emails(first), emails(rest)) == (["mk.sharma@example.com"], ["asha@example.com"])
    assert rest["pageInfo"]["hasNextPage"] is False
    assert await search("") == (EVERYONE_NEWEST_FIRST, 6)


async def test_the_user_list_is_never_served_from_the_query_cache(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    token = await access_token(app, await make_user("admin@example.com", role=Role.ADMIN))
    before = await users_page(client, token)

    await make_user("new@example.com")
    after = await users_page(client, token)

    assert (before["totalCount"], after["totalCount"]) == (1, 2)
    assert emails(after)[0] == "new@example.com"


async def test_users_refuses_a_page_larger_than_the_limit(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    token = await access_token(app, await make_user("admin@example.com", role=Role.ADMIN))

    body = await graphql(client, USERS, {"first": 101}, token=token)

    assert error_codes(body) == ["BAD_USER_INPUT"]


# --- ids --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mutation", "document", "change"),
    [
        ("setUserRole", SET_USER_ROLE, {"role": "ADMIN"}),
        ("setUserDisabled", SET_USER_DISABLED, {"disabled": True}),
    ],
)
async def test_an_unknown_user_is_not_found_and_a_malformed_id_is_bad_input(
    app: Starlette, client: httpx.AsyncClient, mutation: str, document: str, change: dict[str, Any]
) -> None:
    token = await access_token(app, await make_user("admin@example.com", role=Role.ADMIN))
    gone = await make_user("gone@example.com")
    gone_id = user_id(gone)
    await gone.delete()
    before = await database_state()

    unknown = await graphql(client, document, {"userId": gone_id, **change}, token=token)
    malformed = [
        await graphql(client, document, {"userId": bad, **change}, token=token)
        for bad in (
            "not-an-id",
            str(relay.GlobalID("User", "123")),
            str(relay.GlobalID("Product", str(gone.id))),
        )
    ]

    assert [(e["field"], e["code"]) for e in unknown["data"][mutation]["errors"]] == [
        ("userId", "USER_NOT_FOUND")
    ]
    assert unknown["data"][mutation]["user"] is None
    for body in malformed:
        assert body["data"] is None
        assert error_codes(body) == ["BAD_USER_INPUT"], body
        assert body["errors"][0]["extensions"]["field"] == "userId"
    assert await database_state() == before


# --- the create-admin command -----------------------------------------------------------------


async def create_admin(app: Starlette, settings: Settings, email: str, name: str) -> int:
    """Run the command as the CLI does. It binds the documents to a client of its own and closes
    it, so they are bound to the app's client again afterwards."""
    try:
        return await server.create_admin(settings, email, name)
    finally:
        await server.init_documents(app.state.mongo, settings)


async def test_create_admin_promotes_and_re_enables_an_existing_account(
    app: Starlette, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    customer = await make_user("asha@example.com", disabled=True)

    code = await create_admin(app, settings, " Asha@Example.com", "Ignored")

    assert code == 0
    assert "asha@example.com is an admin" in capsys.readouterr().out
    stored = await User.get(customer.id)
    assert stored is not None
    assert (stored.role, stored.disabled, stored.name) == (Role.ADMIN, False, customer.name)
    assert password_matches(DEFAULT_PASSWORD, stored.password_hash, rounds=4)
    assert await User.count() == 1


async def test_create_admin_creates_a_verified_admin_who_can_sign_in(
    app: Starlette,
    client: httpx.AsyncClient,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ADMIN_PASSWORD", "a strong admin passphrase")

    code = await create_admin(app, settings, "boss@example.com", "The Boss")

    assert code == 0
    assert "boss@example.com is an admin" in capsys.readouterr().out
    stored = await User.find_one(User.email == "boss@example.com")
    assert stored is not None
    assert (stored.role, stored.email_verified, stored.disabled, stored.name) == (
        Role.ADMIN,
        True,
        False,
        "The Boss",
    )
    signed_in = await login(client, "boss@example.com", "a strong admin passphrase")
    assert error_codes(await graphql(client, USERS, token=signed_in["accessToken"])) == []


async def test_create_admin_refuses_a_weak_password(
    app: Starlette,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ADMIN_PASSWORD", "12345678")

    code = await create_admin(app, settings, "boss@example.com", "The Boss")

    assert code == 1
    err = capsys.readouterr().err
    assert "Could not create the admin" in err
    assert "digits" in err
    assert await User.count() == 0
