"""Product and category images: upload (GraphQL multipart), remove, reorder, alt text, limits,
concurrency, files on disk, and transformed URLs through the real Cloudinary SDK against its fake."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from PIL import Image as PillowImage

from documents.accounts import Role
from documents.catalog import Category, Product
from documents.common import Image
from integrations.images import CloudinaryImageStore, ImageStore, StoredImage
from settings import Settings
from tests.factories import DEFAULT_PASSWORD, global_id, make_category, make_product, make_user
from tests.fakes.cloudinary import FakeCloudinary
from tests.support import error_codes, graphql, login
from tests.support import payload_errors as errors

IMAGE_FIELDS = "id url alt width height"
ADD_PRODUCT_IMAGE = f"""
mutation AddProductImage($productId: ID!, $file: Upload!, $alt: String) {{
  addProductImage(productId: $productId, file: $file, alt: $alt) {{
    product {{ id images {{ {IMAGE_FIELDS} }} }}
    image {{ {IMAGE_FIELDS} }}
    errors {{ field code message }}
  }}
}}
"""
REMOVE_PRODUCT_IMAGE = f"""
mutation RemoveProductImage($productId: ID!, $imageId: String!) {{
  removeProductImage(productId: $productId, imageId: $imageId) {{
    product {{ images {{ {IMAGE_FIELDS} }} }}
    errors {{ field code message }}
  }}
}}
"""
REORDER_PRODUCT_IMAGES = """
mutation ReorderProductImages($productId: ID!, $imageIds: [String!]!) {
  reorderProductImages(productId: $productId, imageIds: $imageIds) {
    product { images { id } }
    errors { field code message }
  }
}
"""
UPDATE_PRODUCT_IMAGE = """
mutation UpdateProductImage($productId: ID!, $imageId: String!, $alt: String!) {
  updateProductImage(productId: $productId, imageId: $imageId, alt: $alt) {
    product { images { id alt } }
    errors { field code message }
  }
}
"""
SET_CATEGORY_IMAGE = f"""
mutation SetCategoryImage($categoryId: ID!, $file: Upload!, $alt: String) {{
  setCategoryImage(categoryId: $categoryId, file: $file, alt: $alt) {{
    category {{ image {{ {IMAGE_FIELDS} }} }}
    errors {{ field code message }}
  }}
}}
"""
REMOVE_CATEGORY_IMAGE = """
mutation RemoveCategoryImage($categoryId: ID!) {
  removeCategoryImage(categoryId: $categoryId) {
    category { image { id } }
    errors { field code message }
  }
}
"""
PRODUCT_IMAGES = """
query ProductImages($id: ID!) {
  product(id: $id) {
    images {
      id
      url
      thumbnail: url(transform: { width: 200, height: 100 })
      wide: url(transform: { width: 640 })
    }
  }
}
"""
TRANSFORMED_URL = """
query Transformed($id: ID!, $transform: ImageTransform) {
  product(id: $id) { images { url(transform: $transform) } }
}
"""


def picture(image_format: str = "PNG", size: tuple[int, int] = (40, 30)) -> bytes:
    buffer = BytesIO()
    PillowImage.new("RGB", size, (20, 120, 200)).save(buffer, image_format)
    return buffer.getvalue()


async def admin_token(client: httpx.AsyncClient) -> str:
    user = await make_user(role=Role.ADMIN)
    token: str = (await login(client, user.email, DEFAULT_PASSWORD))["accessToken"]
    return token


async def upload(
    client: httpx.AsyncClient,
    document: str,
    variables: dict[str, Any],
    data: bytes,
    *,
    token: str | None,
    filename: str = "image.png",
) -> dict[str, Any]:
    """A GraphQL multipart request with `data` as `$file`, the way Apollo's upload link sends it."""
    headers = {"apollo-require-preflight": "true"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    response = await client.post(
        "/graphql",
        data={
            "operations": json.dumps({"query": document, "variables": {**variables, "file": None}}),
            "map": json.dumps({"0": ["variables.file"]}),
        },
        files={"0": (filename, data, "image/png")},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def add_image(
    client: httpx.AsyncClient, product: Product, data: bytes, *, token: str, **variables: Any
) -> dict[str, Any]:
    body = await upload(
        client, ADD_PRODUCT_IMAGE, {"productId": global_id(product), **variables}, data, token=token
    )
    payload: dict[str, Any] = body["data"]["addProductImage"]
    return payload


def files(settings: Settings, folder: str) -> set[Path]:
    directory = settings.media_dir / folder
    return set(directory.iterdir()) if directory.exists() else set()


async def stored_product(product: Product) -> dict[str, Any]:
    found = await Product.get_pymongo_collection().find_one({"_id": product.id})
    assert found is not None
    return found


async def stored_category(category: Category) -> dict[str, Any]:
    found = await Category.get_pymongo_collection().find_one({"_id": category.id})
    assert found is not None
    return found


def transformation(cloudinary_url: str) -> set[str]:
    """The parameters of a Cloudinary delivery URL's transformation segment."""
    return set(cloudinary_url.split("/image/upload/")[1].split("/")[0].split(","))


def media_path(url: str) -> str:
    return urlsplit(url).path


# --- adding -----------------------------------------------------------------------------------


async def test_added_images_are_stored_in_order_and_served(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    token = await admin_token(client)
    product = await make_product(await make_category("Shoes"), name="Trail Runner", images=[])
    png, jpeg = picture("PNG", (40, 30)), picture("JPEG", (64, 48))

    first = await add_image(client, product, png, token=token)
    second = await add_image(client, product, jpeg, token=token, alt="  Side   view ")

    assert first["errors"] == []
    assert second["errors"] == []
    image_a, image_b = first["image"], second["image"]
    assert (image_a["alt"], image_a["width"], image_a["height"]) == ("Trail Runner", 40, 30)
    assert (image_b["alt"], image_b["width"], image_b["height"]) == ("Side view", 64, 48)
    assert image_a["id"].startswith("products/")
    assert image_a["id"].endswith(".png")
    assert image_b["id"].endswith(".jpg")
    assert second["product"]["images"] == [image_a, image_b]
    for image, data in ((image_a, png), (image_b, jpeg)):
        assert media_path(image["url"]) == f"/media/{image['id']}"
        served = await client.get(media_path(image["url"]))
        assert served.status_code == 200
        assert served.content == data
    assert files(settings, "products") >= {
        settings.media_dir / image_a["id"],
        settings.media_dir / image_b["id"],
    }
    stored = await stored_product(product)
    assert [image["public_id"] for image in stored["images"]] == [image_a["id"], image_b["id"]]
    assert stored["updated_at"] > product.updated_at


async def test_an_added_image_shows_in_a_product_query_cached_before(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    product = await make_product(await make_category("Shoes"), images=[])
    query = "query($id: ID!) { product(id: $id) { images { id } } }"
    assert (await graphql(client, query, {"id": global_id(product)}))["data"]["product"] == {
        "images": []
    }

    added = await add_image(client, product, picture(), token=token)

    after = await graphql(client, query, {"id": global_id(product)})
    assert after["data"]["product"]["images"] == [{"id": added["image"]["id"]}]


async def test_refused_uploads_write_nothing(
    client: httpx.AsyncClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "product_image_max_bytes", 64 * 1024)
    token = await admin_token(client)
    product = await make_product(await make_category("Shoes"))
    before, files_before = await stored_product(product), files(settings, "products")
    cases = [
        (picture("GIF"), {}, ("file", "UNSUPPORTED_IMAGE_TYPE")),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, {}, ("file", "INVALID_IMAGE")),
        (b"", {}, ("file", "INVALID_IMAGE")),
        (picture() + b"\0" * (64 * 1024), {}, ("file", "IMAGE_TOO_LARGE")),
        (picture(), {"alt": "x" * 301}, ("alt", "INVALID_ALT_TEXT")),
        (picture(), {"alt": "hidden\u200btext"}, ("alt", "INVALID_ALT_TEXT")),
    ]

    for data, variables, expected in cases:
        payload = await add_image(client, product, data, token=token, **variables)
        assert [(e["field"], e["code"]) for e in payload["errors"]] == [expected], expected
        assert payload["product"] is None

    assert await stored_product(product) == before
    assert files(settings, "products") == files_before


async def test_the_image_after_the_limit_is_refused(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    token = await admin_token(client)
    full = [Image(url=f"https://img.test/{n}.jpg", alt="x") for n in range(12)]
    product = await make_product(await make_category("Shoes"), images=full)
    before, files_before = await stored_product(product), files(settings, "products")

    payload = await add_image(client, product, picture(), token=token)

    assert settings.max_product_images == 12
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("file", "TOO_MANY_IMAGES")]
    assert await stored_product(product) == before
    assert files(settings, "products") == files_before


async def test_concurrent_adds_never_pass_the_limit_and_leave_no_orphaned_files(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    token = await admin_token(client)
    product = await make_product(await make_category("Shoes"), images=[])
    limit = settings.max_product_images
    files_before = files(settings, "products")

    payloads = await asyncio.gather(
        *(add_image(client, product, picture(), token=token) for _ in range(limit + 3))
    )

    succeeded = [p for p in payloads if p["errors"] == []]
    refused = [p for p in payloads if p["errors"]]
    assert len(succeeded) == limit
    assert all(p["errors"][0]["code"] == "TOO_MANY_IMAGES" for p in refused)
    stored = await stored_product(product)
    assert len(stored["images"]) == limit
    assert {image["public_id"] for image in stored["images"]} == {
        p["image"]["id"] for p in succeeded
    }
    new_files = files(settings, "products") - files_before
    assert new_files == {settings.media_dir / image["public_id"] for image in stored["images"]}


async def test_an_unknown_product_is_refused_and_no_file_is_kept(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    token = await admin_token(client)
    product = await make_product(await make_category("Shoes"))
    await product.delete()
    files_before = files(settings, "products")

    payload = await add_image(client, product, picture(), token=token)

    assert [(e["field"], e["code"]) for e in payload["errors"]] == [
        ("productId", "PRODUCT_NOT_FOUND")
    ]
    assert files(settings, "products") == files_before


class DeletesProductWhileSaving:
    """The app's store, except that the product goes away while its image is being stored."""

    name = "local"

    def __init__(self, store: ImageStore, product: Product) -> None:
        self._store = store
        self._product = product
        self.saved: list[str] = []

    async def save(self, data: bytes, *, folder: str, max_bytes: int) -> StoredImage:
        stored = await self._store.save(data, folder=folder, max_bytes=max_bytes)
        self.saved.append(stored.public_id)
        await self._product.delete()
        return stored

    async def delete(self, public_id: str) -> None:
        await self._store.delete(public_id)

    def url(self, public_id: str, *, width: int | None = None, height: int | None = None) -> str:
        return self._store.url(public_id, width=width, height=height)


async def test_a_product_deleted_during_the_upload_leaves_no_orphaned_file(
    app: Any,
    client: httpx.AsyncClient,
    settings: Settings,
    replace_services: Callable[..., None],
) -> None:
    token = await admin_token(client)
    product = await make_product(await make_category("Shoes"))
    store = DeletesProductWhileSaving(app.state.services.images, product)
    replace_services(images=store)
    files_before = files(settings, "products")

    payload = await add_image(client, product, picture(), token=token)

    assert [(e["field"], e["code"]) for e in payload["errors"]] == [
        ("productId", "PRODUCT_NOT_FOUND")
    ]
    assert len(store.saved) == 1
    assert not (settings.media_dir / store.saved[0]).exists()
    assert files(settings, "products") == files_before


# --- removing, reordering, alt text -----------------------------------------------------------


async def test_a_removed_image_is_gone_from_the_product_and_the_disk(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    token = await admin_token(client)
    product = await make_product(await make_category("Shoes"), images=[])
    first = (await add_image(client, product, picture(), token=token))["image"]
    second = (await add_image(client, product, picture("JPEG"), token=token))["image"]

    body = await graphql(
        client,
        REMOVE_PRODUCT_IMAGE,
        {"productId": global_id(product), "imageId": first["id"]},
        token=token,
    )

    assert body["data"]["removeProductImage"] == {
        "product": {"images": [second]},
        "errors": [],
    }
    assert (await client.get(media_path(first["url"]))).status_code == 404
    assert not (settings.media_dir / first["id"]).exists()
    assert (await client.get(media_path(second["url"]))).status_code == 200
    assert [i["public_id"] for i in (await stored_product(product))["images"]] == [second["id"]]

    again = await graphql(
        client,
        REMOVE_PRODUCT_IMAGE,
        {"productId": global_id(product), "imageId": first["id"]},
        token=token,
    )
    assert errors(again, "removeProductImage") == [("imageId", "IMAGE_NOT_FOUND")]


async def test_an_image_kept_elsewhere_is_removed_by_its_url(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    images = [Image(url="https://img.test/a.jpg", alt="a"), Image(url="https://img.test/b.jpg")]
    product = await make_product(await make_category("Shoes"), images=images)

    body = await graphql(
        client,
        REMOVE_PRODUCT_IMAGE,
        {"productId": global_id(product), "imageId": "https://img.test/a.jpg"},
        token=token,
    )

    assert body["data"]["removeProductImage"]["errors"] == []
    assert [i["id"] for i in body["data"]["removeProductImage"]["product"]["images"]] == [
        "https://img.test/b.jpg"
    ]


async def test_images_are_reordered_by_a_permutation_of_their_ids(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    external = Image(url="https://img.test/front.jpg", alt="front")
    product = await make_product(await make_category("Shoes"), images=[external])
    a = (await add_image(client, product, picture(), token=token))["image"]["id"]
    b = (await add_image(client, product, picture(), token=token))["image"]["id"]
    order = [b, external.url, a]

    body = await graphql(
        client,
        REORDER_PRODUCT_IMAGES,
        {"productId": global_id(product), "imageIds": order},
        token=token,
    )

    assert body["data"]["reorderProductImages"] == {
        "product": {"images": [{"id": image_id} for image_id in order]},
        "errors": [],
    }
    stored = (await stored_product(product))["images"]
    assert [image["public_id"] or image["url"] for image in stored] == order
    assert stored[1]["alt"] == "front"


async def test_an_order_that_is_not_a_permutation_is_refused(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    product = await make_product(await make_category("Shoes"), images=[])
    a = (await add_image(client, product, picture(), token=token))["image"]["id"]
    b = (await add_image(client, product, picture(), token=token))["image"]["id"]
    before = await stored_product(product)

    for image_ids in ([a], [a, a], [a, b, a], [b, "products/unknown.png"], []):
        body = await graphql(
            client,
            REORDER_PRODUCT_IMAGES,
            {"productId": global_id(product), "imageIds": image_ids},
            token=token,
        )
        assert errors(body, "reorderProductImages") == [("imageIds", "INVALID_IMAGE_ORDER")]

    assert await stored_product(product) == before


async def test_reorders_racing_adds_and_removals_never_lose_or_revive_an_image(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    product = await make_product(await make_category("Shoes"), images=[])
    ids = [
        (await add_image(client, product, picture(), token=token))["image"]["id"] for _ in range(4)
    ]
    removed_id = ids[0]

    def reorder(order: list[str]) -> Any:
        variables = {"productId": global_id(product), "imageIds": order}
        return graphql(client, REORDER_PRODUCT_IMAGES, variables, token=token)

    rotations = [ids[n:] + ids[:n] for n in range(4)] * 5
    results = await asyncio.gather(
        *(reorder(order) for order in rotations),
        *(add_image(client, product, picture(), token=token) for _ in range(3)),
        graphql(
            client,
            REMOVE_PRODUCT_IMAGE,
            {"productId": global_id(product), "imageId": removed_id},
            token=token,
        ),
        *(reorder(order) for order in rotations),
    )

    reorders = results[:20] + results[24:]
    added = [payload["image"]["id"] for payload in results[20:23]]
    assert results[23]["data"]["removeProductImage"]["errors"] == []
    for body in reorders:
        assert errors(body, "reorderProductImages") in ([], [("imageIds", "INVALID_IMAGE_ORDER")])
    stored = [image["public_id"] for image in (await stored_product(product))["images"]]
    assert sorted(stored) == sorted([*ids[1:], *added])


async def test_alt_text_is_changed_and_checked(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    product = await make_product(await make_category("Shoes"), images=[])
    a = (await add_image(client, product, picture(), token=token))["image"]["id"]
    b = (await add_image(client, product, picture(), token=token))["image"]["id"]

    body = await graphql(
        client,
        UPDATE_PRODUCT_IMAGE,
        {"productId": global_id(product), "imageId": b, "alt": " Sole,  close up "},
        token=token,
    )

    assert body["data"]["updateProductImage"]["errors"] == []
    alts = [(i["id"], i["alt"]) for i in body["data"]["updateProductImage"]["product"]["images"]]
    assert alts == [(a, product.name), (b, "Sole, close up")]
    before = await stored_product(product)
    for image_id, alt, expected in (
        (b, "x" * 301, ("alt", "INVALID_ALT_TEXT")),
        ("products/unknown.png", "fine", ("imageId", "IMAGE_NOT_FOUND")),
    ):
        refused = await graphql(
            client,
            UPDATE_PRODUCT_IMAGE,
            {"productId": global_id(product), "imageId": image_id, "alt": alt},
            token=token,
        )
        assert errors(refused, "updateProductImage") == [expected]
    assert await stored_product(product) == before


# --- category images --------------------------------------------------------------------------


async def test_a_category_image_is_set_replaced_and_removed_with_its_files(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    token = await admin_token(client)
    category = await make_category("Shoes")
    variables = {"categoryId": global_id(category)}

    first = await upload(client, SET_CATEGORY_IMAGE, variables, picture(), token=token)
    first_image = first["data"]["setCategoryImage"]["category"]["image"]
    assert first["data"]["setCategoryImage"]["errors"] == []
    assert (first_image["alt"], first_image["width"], first_image["height"]) == ("Shoes", 40, 30)
    assert first_image["id"].startswith("categories/")
    assert (await client.get(media_path(first_image["url"]))).status_code == 200

    second = await upload(
        client, SET_CATEGORY_IMAGE, {**variables, "alt": "Banner"}, picture("WEBP"), token=token
    )
    second_image = second["data"]["setCategoryImage"]["category"]["image"]
    assert second_image["alt"] == "Banner"
    assert second_image["id"].endswith(".webp")
    assert (await client.get(media_path(first_image["url"]))).status_code == 404
    assert (await client.get(media_path(second_image["url"]))).status_code == 200
    assert (await stored_category(category))["image"]["public_id"] == second_image["id"]

    removed = await graphql(client, REMOVE_CATEGORY_IMAGE, variables, token=token)
    assert removed["data"]["removeCategoryImage"] == {"category": {"image": None}, "errors": []}
    assert (await client.get(media_path(second_image["url"]))).status_code == 404
    assert (await stored_category(category))["image"] is None
    assert files(settings, "categories").isdisjoint(
        {settings.media_dir / first_image["id"], settings.media_dir / second_image["id"]}
    )

    again = await graphql(client, REMOVE_CATEGORY_IMAGE, variables, token=token)
    assert again["data"]["removeCategoryImage"] == {"category": {"image": None}, "errors": []}


async def test_an_unknown_category_is_refused_and_no_file_is_kept(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    token = await admin_token(client)
    category = await make_category("Shoes")
    await category.delete()
    files_before = files(settings, "categories")

    body = await upload(
        client, SET_CATEGORY_IMAGE, {"categoryId": global_id(category)}, picture(), token=token
    )

    assert errors(body, "setCategoryImage") == [("categoryId", "CATEGORY_NOT_FOUND")]
    assert files(settings, "categories") == files_before


# --- transformed URLs -------------------------------------------------------------------------


async def test_cloudinary_urls_are_transformed_on_request(
    client: httpx.AsyncClient, replace_services: Callable[..., None]
) -> None:
    token = await admin_token(client)
    product = await make_product(await make_category("Shoes"), images=[])
    with FakeCloudinary() as fake:
        replace_services(images=CloudinaryImageStore(fake.cloudinary_url, upload_prefix=fake.url))
        added = await add_image(client, product, picture(), token=token)

        body = await graphql(client, PRODUCT_IMAGES, {"id": global_id(product)})

        assert added["errors"] == []
        assert fake.requests[0].fields["folder"] == "products"
    [image] = body["data"]["product"]["images"]
    assert image["id"] == added["image"]["id"]
    assert image["url"] == added["image"]["url"]
    assert image["url"].startswith(f"https://res.cloudinary.com/{fake.cloud_name}/image/upload/")
    assert transformation(image["thumbnail"]) == {"w_200", "h_100", "c_fill"}
    assert transformation(image["wide"]) == {"w_640", "c_scale"}
    assert image["thumbnail"].endswith(image["id"])


async def test_local_and_external_images_keep_their_url_and_sizes_are_checked(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    product = await make_product(await make_category("Shoes"))
    added = await add_image(client, product, picture(), token=token)
    original = [image["url"] for image in added["product"]["images"]]

    body = await graphql(client, PRODUCT_IMAGES, {"id": global_id(product)})

    images = body["data"]["product"]["images"]
    assert [(i["url"], i["thumbnail"], i["wide"]) for i in images] == [
        (url, url, url) for url in original
    ]
    for transform in ({"width": 0}, {"height": 4001}, {"width": 200, "height": -1}):
        refused = await graphql(
            client, TRANSFORMED_URL, {"id": global_id(product), "transform": transform}
        )
        assert error_codes(refused) == ["BAD_USER_INPUT"], transform


# --- who may change images --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("caller", "code"), [("anonymous", "UNAUTHENTICATED"), ("user", "FORBIDDEN")]
)
async def test_only_admins_change_images(
    client: httpx.AsyncClient, settings: Settings, caller: str, code: str
) -> None:
    product = await make_product(await make_category("Shoes"))
    token = None
    if caller == "user":
        user = await make_user()
        token = (await login(client, user.email, DEFAULT_PASSWORD))["accessToken"]
    before, files_before = await stored_product(product), files(settings, "products")

    added = await upload(
        client, ADD_PRODUCT_IMAGE, {"productId": global_id(product)}, picture(), token=token
    )
    removed = await graphql(
        client,
        REMOVE_PRODUCT_IMAGE,
        {"productId": global_id(product), "imageId": product.images[0].url},
        token=token,
    )

    for body, operation in ((added, "addProductImage"), (removed, "removeProductImage")):
        assert body["data"] is None
        assert error_codes(body) == [code]
        assert body["errors"][0]["path"] == [operation]
    assert await stored_product(product) == before
    assert files(settings, "products") == files_before
