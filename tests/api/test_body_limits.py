"""Request bodies: JSON (and anything else) is held to MAX_JSON_REQUEST_BYTES; the large limit is
only for the multipart uploads of callers who may upload, decided before the body is read."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from io import BytesIO
from typing import Any

import httpx
import pytest
from PIL import Image as PillowImage
from starlette.applications import Starlette

from documents.accounts import Role, User
from documents.catalog import Product
from settings import Settings
from tests.factories import global_id, make_category, make_product, make_user
from tests.support import (
    MongoCommandCounter,
    access_token_for,
    app_sharing_services,
    catalog_state,
)

ADD_PRODUCT_IMAGE = """
mutation AddProductImage($productId: ID!, $file: Upload!) {
  addProductImage(productId: $productId, file: $file) {
    image { width height }
    errors { field code }
  }
}
"""
UPLOAD_AVATAR = """
mutation UploadAvatar($file: Upload!) {
  uploadAvatar(file: $file) { errors { field code } }
}
"""
NODES = "query Nodes($ids: [ID!]!) { nodes(ids: $ids) { id } }"
CHUNK_BYTES = 64 * 1024


class CountedBody:
    """A request body sent in chunks, counting how much of it the server asked for."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.bytes_read = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self.body), CHUNK_BYTES):
            chunk = self.body[start : start + CHUNK_BYTES]
            self.bytes_read += len(chunk)
            yield chunk


def nodes_body(size: int) -> bytes:
    """A `nodes(ids:)` request of about `size` bytes: ids until it is that large."""
    one_id = "UHJvZHVjdDo2NWYwMDAwMDAwMDAwMDAwMDAwMDAwMDA="
    count = (size - len(NODES) - 40) // len(f'"{one_id}", ')
    return json.dumps({"query": NODES, "variables": {"ids": [one_id] * count}}).encode()


def noisy_png(side: int) -> bytes:
    """A square PNG of random pixels, which do not compress: about 3 * side**2 bytes."""
    pixels = random.Random(7).randbytes(side * side * 3)
    buffer = BytesIO()
    PillowImage.frombytes("RGB", (side, side), pixels).save(buffer, "PNG")
    return buffer.getvalue()


async def post_multipart(
    client: httpx.AsyncClient,
    document: str,
    variables: dict[str, Any],
    data: bytes,
    *,
    token: str | None = None,
) -> httpx.Response:
    """A GraphQL multipart request with `data` as `$file`, as Apollo's upload link sends it."""
    headers = {"apollo-require-preflight": "true"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    return await client.post(
        "/graphql",
        data={
            "operations": json.dumps({"query": document, "variables": {**variables, "file": None}}),
            "map": json.dumps({"0": ["variables.file"]}),
        },
        files={"0": ("image.png", data, "image/png")},
        headers=headers,
    )


def assert_payload_too_large(response: httpx.Response, max_bytes: int) -> None:
    assert response.status_code == 413, response.text
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "PAYLOAD_TOO_LARGE", "maxBytes": max_bytes}
    assert response.headers["x-request-id"]
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("megabytes", [2, 20], ids=["2-mb-json", "20-mb-nodes"])
async def test_a_large_json_body_is_refused_from_its_length_unread(
    client: httpx.AsyncClient,
    settings: Settings,
    mongo_commands: MongoCommandCounter,
    megabytes: int,
) -> None:
    body = CountedBody(nodes_body(megabytes * 1024 * 1024))

    response = await client.post(
        "/graphql",
        content=body,
        headers={"content-type": "application/json", "content-length": str(len(body.body))},
    )

    assert_payload_too_large(response, settings.max_json_request_bytes)
    assert body.bytes_read == 0
    assert mongo_commands.commands == []


async def test_a_body_sent_without_its_length_is_cut_off_at_the_limit(
    client: httpx.AsyncClient, settings: Settings, mongo_commands: MongoCommandCounter
) -> None:
    body = CountedBody(nodes_body(2 * 1024 * 1024))

    response = await client.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )

    assert "content-length" not in response.request.headers
    assert_payload_too_large(response, settings.max_json_request_bytes)
    assert body.bytes_read <= settings.max_json_request_bytes + CHUNK_BYTES
    assert mongo_commands.commands == []


async def test_a_body_longer_than_it_declared_is_cut_off_at_the_limit(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    body = CountedBody(nodes_body(2 * 1024 * 1024))

    response = await client.post(
        "/graphql",
        content=body,
        headers={"content-type": "application/json", "content-length": "100"},
    )

    assert_payload_too_large(response, settings.max_json_request_bytes)
    assert body.bytes_read <= settings.max_json_request_bytes + CHUNK_BYTES


async def test_a_get_with_a_query_string_over_the_limit_is_refused_unparsed(
    app: Starlette, settings: Settings, mongo_commands: MongoCommandCounter
) -> None:
    # A 16 KiB limit: httpx itself will not send a query string of more than 64 KiB.
    small = app_sharing_services(settings.model_copy(update={"max_json_request_bytes": 16384}), app)
    ids = json.loads(nodes_body(20_000))["variables"]["ids"]

    transport = httpx.ASGITransport(app=small)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get(
            "/graphql", params={"query": NODES, "variables": json.dumps({"ids": ids})}
        )

    assert response.status_code == 414
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "PAYLOAD_TOO_LARGE", "maxBytes": 16384}
    assert response.headers["cache-control"] == "no-store"
    assert mongo_commands.commands == []


async def test_a_json_body_within_the_limit_is_answered(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    body = nodes_body(settings.max_json_request_bytes)
    assert settings.max_json_request_bytes - 100 < len(body) <= settings.max_json_request_bytes

    response = await client.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )

    assert response.status_code == 200
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"  # > 100 ids


async def test_an_admins_5_mb_image_upload_still_works(
    app: Any, client: httpx.AsyncClient, settings: Settings
) -> None:
    product = await make_product(await make_category("Shoes"))
    token = await access_token_for(app, await make_user(role=Role.ADMIN))
    image = noisy_png(1290)  # 5 MB
    assert settings.max_json_request_bytes < len(image) <= settings.product_image_max_bytes

    response = await post_multipart(
        client, ADD_PRODUCT_IMAGE, {"productId": global_id(product)}, image, token=token
    )

    assert response.status_code == 200, response.text
    payload = response.json()["data"]["addProductImage"]
    assert payload["errors"] == []
    assert payload["image"] == {"width": 1290, "height": 1290}
    stored = await Product.get(product.id)
    assert stored is not None
    assert len(stored.images) == len(product.images) + 1


async def test_an_anonymous_5_mb_multipart_is_refused_unread(
    client: httpx.AsyncClient, settings: Settings, mongo_commands: MongoCommandCounter
) -> None:
    product = await make_product(await make_category("Shoes"))
    before = await catalog_state()
    mongo_commands.reset()

    response = await post_multipart(
        client, ADD_PRODUCT_IMAGE, {"productId": global_id(product)}, noisy_png(1290)
    )

    assert_payload_too_large(response, settings.max_json_request_bytes)
    assert mongo_commands.commands == []
    assert await catalog_state() == before


async def test_a_forged_token_gets_no_upload_allowance(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    product = await make_product(await make_category("Shoes"))
    before = await catalog_state()

    response = await post_multipart(
        client,
        ADD_PRODUCT_IMAGE,
        {"productId": global_id(product)},
        noisy_png(1290),
        token="not.a.token",
    )

    assert_payload_too_large(response, settings.max_json_request_bytes)
    assert await catalog_state() == before


async def test_a_user_may_send_an_avatar_but_not_an_admins_upload(
    app: Any, client: httpx.AsyncClient, settings: Settings
) -> None:
    user = await make_user("asha@example.com")
    token = await access_token_for(app, user)
    allowance = settings.avatar_max_bytes + settings.max_json_request_bytes

    picture = noisy_png(800)
    assert settings.max_json_request_bytes < len(picture) <= settings.avatar_max_bytes

    avatar = await post_multipart(client, UPLOAD_AVATAR, {}, picture, token=token)
    too_large = await post_multipart(client, UPLOAD_AVATAR, {}, noisy_png(1290), token=token)

    assert avatar.status_code == 200, avatar.text
    assert avatar.json()["data"]["uploadAvatar"]["errors"] == []
    assert_payload_too_large(too_large, allowance)
    stored = await User.get(user.id)
    assert stored is not None
    assert stored.avatar is not None
    assert (stored.avatar.width, stored.avatar.height) == (800, 800)  # the first upload's
