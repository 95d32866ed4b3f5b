"""`updateProfile` and `uploadAvatar` (GraphQL multipart requests), and the served avatar files."""

from __future__ import annotations

import json
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from PIL import Image as PillowImage
from starlette.applications import Starlette

from documents.accounts import User
from integrations.images import CloudinaryImageStore
from integrations.local_servers import free_port
from settings import Settings
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.support import error_codes, graphql, login, sent_emails

UPDATE_PROFILE = """
mutation UpdateProfile($input: UpdateProfileInput!) {
  updateProfile(input: $input) {
    user { email name mobile emailVerified }
    errors { field code message }
  }
}
"""
UPLOAD_AVATAR = """
mutation UploadAvatar($file: Upload!) {
  uploadAvatar(file: $file) {
    user { avatar { url alt width height } }
    errors { field code message }
  }
}
"""
ME = "{ me { email name mobile emailVerified avatar { url alt width height } } }"


async def sign_in(client: httpx.AsyncClient, email: str = "asha@example.com", **fields: Any) -> str:
    """A new user, signed in; their access token."""
    await make_user(email, **fields)
    token: str = (await login(client, email, DEFAULT_PASSWORD))["accessToken"]
    return token


def picture(image_format: str, size: tuple[int, int] = (40, 30)) -> bytes:
    buffer = BytesIO()
    PillowImage.new("RGB", size, (200, 80, 20)).save(buffer, image_format)
    return buffer.getvalue()


async def upload(
    client: httpx.AsyncClient,
    data: bytes,
    *,
    token: str | None,
    filename: str = "avatar.png",
    preflight: bool = True,
) -> httpx.Response:
    """`uploadAvatar` as a GraphQL multipart request, the way Apollo's upload link sends it."""
    headers = {"apollo-require-preflight": "true"} if preflight else {}
    if token:
        headers["authorization"] = f"Bearer {token}"
    return await client.post(
        "/graphql",
        data={
            "operations": json.dumps({"query": UPLOAD_AVATAR, "variables": {"file": None}}),
            "map": json.dumps({"0": ["variables.file"]}),
        },
        files={"0": (filename, data, "image/png")},
        headers=headers,
    )


def avatar_files(settings: Settings) -> set[Path]:
    folder = settings.media_dir / "avatars"
    return set(folder.iterdir()) if folder.exists() else set()


async def stored(email: str = "asha@example.com") -> dict[str, Any]:
    user = await User.find_one(User.email == email)
    assert user is not None
    return user.model_dump()


def errors(body: dict[str, Any], mutation: str) -> list[tuple[str | None, str]]:
    return [(error["field"], error["code"]) for error in body["data"][mutation]["errors"]]


async def test_only_the_fields_sent_change(client: httpx.AsyncClient) -> None:
    token = await sign_in(client, name="Asha", mobile="+91 98765 43210", email_verified=True)

    renamed = await graphql(
        client, UPDATE_PROFILE, {"input": {"name": "  Asha   Rao "}}, token=token
    )

    assert renamed["data"]["updateProfile"] == {
        "user": {
            "email": "asha@example.com",
            "name": "Asha Rao",
            "mobile": "+91 98765 43210",
            "emailVerified": True,
        },
        "errors": [],
    }
    new_number = await graphql(
        client, UPDATE_PROFILE, {"input": {"mobile": "+44 20 7946 0958"}}, token=token
    )
    assert new_number["data"]["updateProfile"]["user"]["mobile"] == "+44 20 7946 0958"
    assert new_number["data"]["updateProfile"]["user"]["name"] == "Asha Rao"
    cleared = await graphql(client, UPDATE_PROFILE, {"input": {"mobile": None}}, token=token)
    assert cleared["data"]["updateProfile"]["errors"] == []
    after = await stored()
    assert (after["name"], after["mobile"], after["email"], after["email_verified"]) == (
        "Asha Rao",
        None,
        "asha@example.com",
        True,
    )
    me = await graphql(client, ME, token=token)
    assert me["data"]["me"]["mobile"] is None


async def test_sending_the_current_email_changes_nothing(client: httpx.AsyncClient) -> None:
    token = await sign_in(client, email_verified=True)
    before = await stored()

    body = await graphql(
        client, UPDATE_PROFILE, {"input": {"email": " ASHA@example.com"}}, token=token
    )

    assert body["data"]["updateProfile"]["errors"] == []
    assert body["data"]["updateProfile"]["user"]["emailVerified"] is True
    assert await stored() == before


async def test_invalid_values_are_refused_with_their_fields_and_change_nothing(
    client: httpx.AsyncClient,
) -> None:
    token = await sign_in(client, name="Asha", mobile="+91 98765 43210")
    before = await stored()
    cases = [
        ({"name": "   "}, ("name", "INVALID_NAME")),
        ({"name": "x" * 121}, ("name", "INVALID_NAME")),
        ({"name": None}, ("name", "INVALID_NAME")),
        ({"mobile": "call me"}, ("mobile", "INVALID_MOBILE")),
        ({"email": "not-an-email"}, ("email", "INVALID_EMAIL")),
        ({"email": None}, ("email", "INVALID_EMAIL")),
        # A valid field does not go through when another one is wrong.
        ({"name": "Asha Rao", "mobile": "123"}, ("mobile", "INVALID_MOBILE")),
    ]

    for update, expected in cases:
        body = await graphql(client, UPDATE_PROFILE, {"input": update}, token=token)
        assert errors(body, "updateProfile") == [expected], update
        assert body["data"]["updateProfile"]["user"] is None

    assert await stored() == before


async def test_a_taken_email_is_refused_and_nothing_changes(
    client: httpx.AsyncClient, app: Starlette, settings: Settings
) -> None:
    await make_user("ravi@example.com")
    token = await sign_in(client, name="Asha", email_verified=True)
    before = await stored()

    body = await graphql(
        client,
        UPDATE_PROFILE,
        {"input": {"name": "Asha Rao", "email": "Ravi@Example.com"}},
        token=token,
    )

    assert errors(body, "updateProfile") == [("email", "EMAIL_TAKEN")]
    assert await stored() == before
    assert await User.find(User.email == "ravi@example.com").count() == 1
    assert await sent_emails(app, settings, "ravi@example.com") == []


async def test_anonymous_callers_cannot_update_a_profile(client: httpx.AsyncClient) -> None:
    body = await graphql(client, UPDATE_PROFILE, {"input": {"name": "Asha"}})

    assert error_codes(body) == ["UNAUTHENTICATED"]
    assert body["data"] is None


async def test_an_uploaded_png_becomes_the_avatar_and_is_served(
    client: httpx.AsyncClient,
) -> None:
    token = await sign_in(client, name="Asha")
    data = picture("PNG", (40, 30))

    response = await upload(client, data, token=token)

    assert response.status_code == 200, response.text
    payload = response.json()["data"]["uploadAvatar"]
    assert payload["errors"] == []
    avatar = payload["user"]["avatar"]
    assert (avatar["alt"], avatar["width"], avatar["height"]) == ("Asha", 40, 30)
    path = urlsplit(avatar["url"]).path
    assert path.startswith("/media/avatars/")
    assert path.endswith(".png")
    served = await client.get(path)
    assert served.status_code == 200
    assert served.content == data
    me = await graphql(client, ME, token=token)
    assert me["data"]["me"]["avatar"] == avatar
    assert (await stored())["avatar"]["url"] == avatar["url"]


async def test_a_new_avatar_deletes_the_previous_file(client: httpx.AsyncClient) -> None:
    token = await sign_in(client)
    first = (await upload(client, picture("PNG", (10, 10)), token=token)).json()
    first_path = urlsplit(first["data"]["uploadAvatar"]["user"]["avatar"]["url"]).path
    assert (await client.get(first_path)).status_code == 200

    second = (await upload(client, picture("JPEG", (20, 16)), token=token)).json()

    avatar = second["data"]["uploadAvatar"]["user"]["avatar"]
    second_path = urlsplit(avatar["url"]).path
    assert (avatar["width"], avatar["height"]) == (20, 16)
    assert second_path != first_path
    assert second_path.endswith(".jpg")
    assert (await client.get(first_path)).status_code == 404
    assert (await client.get(second_path)).status_code == 200


async def test_refused_uploads_change_nothing(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    token = await sign_in(client)
    await upload(client, picture("PNG"), token=token)
    before, files_before = await stored(), avatar_files(settings)
    too_large = picture("PNG") + b"\0" * settings.avatar_max_bytes
    cases = [
        (picture("GIF"), "avatar.png", "UNSUPPORTED_IMAGE_TYPE"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "avatar.png", "INVALID_IMAGE"),
        (bytes(range(256)) * 4, "avatar.png", "INVALID_IMAGE"),
        (b"", "avatar.png", "INVALID_IMAGE"),
        (too_large, "avatar.png", "IMAGE_TOO_LARGE"),
    ]

    for data, filename, code in cases:
        response = await upload(client, data, token=token, filename=filename)
        assert response.status_code == 200, response.text
        body = response.json()
        assert errors(body, "uploadAvatar") == [("file", code)], code
        assert body["data"]["uploadAvatar"]["user"] is None

    assert await stored() == before
    assert avatar_files(settings) == files_before


async def test_a_multipart_request_without_the_preflight_header_is_refused(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    token = await sign_in(client)
    files_before = avatar_files(settings)

    response = await upload(client, picture("PNG"), token=token, preflight=False)

    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert (await stored())["avatar"] is None
    assert avatar_files(settings) == files_before


async def test_anonymous_callers_cannot_upload(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    files_before = avatar_files(settings)

    response = await upload(client, picture("PNG"), token=None)

    assert response.status_code == 200
    assert error_codes(response.json()) == ["UNAUTHENTICATED"]
    assert avatar_files(settings) == files_before


async def test_an_image_store_that_cannot_be_reached_is_reported_and_changes_nothing(
    client: httpx.AsyncClient, replace_services: Any
) -> None:
    # The real Cloudinary SDK, pointed at a port where nothing listens.
    replace_services(
        images=CloudinaryImageStore(
            "cloudinary://key:secret@demo", upload_prefix=f"http://127.0.0.1:{free_port()}"
        )
    )
    token = await sign_in(client)
    before = await stored()

    response = await upload(client, picture("PNG"), token=token)

    payload = response.json()["data"]["uploadAvatar"]
    assert payload["user"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [
        ("file", "IMAGE_STORE_UNAVAILABLE")
    ]
    assert await stored() == before
