"""Tests for image inspection and the image stores: local files, and the real Cloudinary SDK
against a local fake of its Upload API."""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import cloudinary
import pytest
from cloudinary.utils import api_sign_request
from PIL import Image

from integrations.images import (
    CloudinaryImageStore,
    ImageStoreError,
    InspectedImage,
    InvalidImageError,
    LocalImageStore,
    build_image_store,
    inspect_image,
)
from integrations.local_servers import free_port
from tests.fakes.cloudinary import UNSIGNED_FIELDS, FakeCloudinary

MAX_BYTES = 5_000_000


def image_bytes(image_format: str, size: tuple[int, int] = (64, 48), **options: object) -> bytes:
    buffer = BytesIO()
    mode = "P" if image_format == "GIF" else "RGB"
    Image.new(mode, size).save(buffer, format=image_format, **options)
    return buffer.getvalue()


@pytest.fixture
def fake_cloudinary() -> Iterator[FakeCloudinary]:
    with FakeCloudinary() as fake:
        yield fake


@pytest.fixture
def conflicting_global_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """Give the SDK a global configuration for another account, which stores must ignore."""
    monkeypatch.setattr(cloudinary, "_config", cloudinary.Config())
    cloudinary.config(
        cloud_name="other-cloud",
        api_key="other-key",
        api_secret="other-secret",
        upload_prefix=f"http://127.0.0.1:{free_port()}",
        upload_preset="other-preset",
        oauth_token="other-token",
        private_cdn=True,
        secure_distribution="cdn.example.com",
        sign_url=True,
    )


def cloudinary_store(fake: FakeCloudinary) -> CloudinaryImageStore:
    return CloudinaryImageStore(fake.cloudinary_url, upload_prefix=fake.url)


# --- inspect_image ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image_format", "content_type"),
    [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")],
)
def test_inspect_image_accepts_jpeg_png_and_webp(image_format: str, content_type: str) -> None:
    inspected = inspect_image(image_bytes(image_format, (64, 48)), max_bytes=MAX_BYTES)

    assert inspected == InspectedImage(
        format=image_format, content_type=content_type, width=64, height=48
    )


def test_inspect_image_takes_a_multi_picture_camera_jpeg_as_jpeg() -> None:
    second = Image.new("RGB", (64, 48))
    data = image_bytes("MPO", (64, 48), save_all=True, append_images=[second])

    inspected = inspect_image(data, max_bytes=MAX_BYTES)

    assert (inspected.format, inspected.content_type) == ("JPEG", "image/jpeg")


def test_inspect_image_rejects_a_gif_named_jpg(tmp_path: Path) -> None:
    upload = tmp_path / "photo.jpg"
    upload.write_bytes(image_bytes("GIF"))

    with pytest.raises(InvalidImageError) as raised:
        inspect_image(upload.read_bytes(), max_bytes=MAX_BYTES)

    assert raised.value.code == "UNSUPPORTED_IMAGE_TYPE"
    assert "GIF" in str(raised.value)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00\x01 this is not an image \xff" * 40,
        image_bytes("PNG")[:-30],  # truncated: the PNG's final chunks are missing
    ],
    ids=["empty", "random-bytes", "truncated-png"],
)
def test_inspect_image_rejects_unreadable_data(data: bytes) -> None:
    with pytest.raises(InvalidImageError) as raised:
        inspect_image(data, max_bytes=MAX_BYTES)

    assert raised.value.code == "INVALID_IMAGE"


def test_inspect_image_rejects_more_bytes_than_allowed() -> None:
    data = image_bytes("PNG")

    with pytest.raises(InvalidImageError) as raised:
        inspect_image(data, max_bytes=len(data) - 1)

    assert raised.value.code == "IMAGE_TOO_LARGE"
    assert inspect_image(data, max_bytes=len(data)).format == "PNG"


def test_inspect_image_rejects_more_pixels_than_allowed() -> None:
    # A few kilobytes of PNG that would decode to 9 million pixels.
    data = image_bytes("PNG", (3000, 3000))

    with pytest.raises(InvalidImageError) as raised:
        inspect_image(data, max_bytes=MAX_BYTES, max_pixels=1_000_000)

    assert raised.value.code == "IMAGE_TOO_LARGE"


def test_inspect_image_turns_pillows_decompression_bomb_error_into_too_large(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = image_bytes("PNG", (100, 100))
    # Pillow raises DecompressionBombError from open() above twice this many pixels.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)

    with pytest.raises(InvalidImageError) as raised:
        inspect_image(data, max_bytes=MAX_BYTES)

    assert raised.value.code == "IMAGE_TOO_LARGE"


# --- LocalImageStore --------------------------------------------------------------------------


async def test_local_store_saves_a_file_named_by_the_detected_format(tmp_path: Path) -> None:
    store = LocalImageStore(tmp_path, "/media/")
    data = image_bytes("WEBP", (30, 20))

    stored = await store.save(data, folder="products/shoes", max_bytes=MAX_BYTES)

    assert stored.public_id.startswith("products/shoes/")
    assert stored.public_id.endswith(".webp")
    assert (stored.width, stored.height) == (30, 20)
    assert stored.url == f"/media/{stored.public_id}"
    assert store.url(stored.public_id, width=200, height=100) == stored.url
    assert (tmp_path / stored.public_id).read_bytes() == data


async def test_local_store_gives_each_upload_its_own_file(tmp_path: Path) -> None:
    store = LocalImageStore(tmp_path, "/media")
    data = image_bytes("JPEG")

    first = await store.save(data, folder="products", max_bytes=MAX_BYTES)
    second = await store.save(data, folder="products", max_bytes=MAX_BYTES)

    assert first.public_id != second.public_id
    assert first.public_id.endswith(".jpg")
    assert len(list((tmp_path / "products").iterdir())) == 2


async def test_local_store_delete_removes_the_file_and_tolerates_a_missing_one(
    tmp_path: Path,
) -> None:
    store = LocalImageStore(tmp_path, "/media")
    stored = await store.save(image_bytes("PNG"), folder="products", max_bytes=MAX_BYTES)

    await store.delete(stored.public_id)
    await store.delete(stored.public_id)

    assert not (tmp_path / stored.public_id).exists()


async def test_local_store_refuses_an_invalid_image_and_writes_nothing(tmp_path: Path) -> None:
    store = LocalImageStore(tmp_path / "media", "/media")

    with pytest.raises(InvalidImageError) as raised:
        await store.save(image_bytes("GIF"), folder="products", max_bytes=MAX_BYTES)

    assert raised.value.code == "UNSUPPORTED_IMAGE_TYPE"
    assert not (tmp_path / "media").exists()


@pytest.mark.parametrize(
    "folder", ["../x", "products/../../x", "/etc", "products/", "Products", "a//b", "a/./b"]
)
async def test_local_store_refuses_folders_outside_the_allowed_alphabet(
    tmp_path: Path, folder: str
) -> None:
    root = tmp_path / "media"
    store = LocalImageStore(root, "/media")

    with pytest.raises(ValueError, match="Invalid image folder"):
        await store.save(image_bytes("PNG"), folder=folder, max_bytes=MAX_BYTES)

    assert not root.exists()
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("public_id", ["../secret.png", "products/../../secret.png", "/etc/x.png"])
async def test_local_store_refuses_to_delete_outside_its_root(
    tmp_path: Path, public_id: str
) -> None:
    victim = tmp_path / "secret.png"
    victim.write_bytes(b"keep me")
    store = LocalImageStore(tmp_path / "media", "/media")

    with pytest.raises(ValueError, match="Not an image id"):
        await store.delete(public_id)

    assert victim.read_bytes() == b"keep me"


# --- CloudinaryImageStore ---------------------------------------------------------------------


async def test_cloudinary_upload_returns_what_cloudinary_answered(
    fake_cloudinary: FakeCloudinary,
) -> None:
    data = image_bytes("PNG", (120, 80))

    stored = await cloudinary_store(fake_cloudinary).save(
        data, folder="products", max_bytes=MAX_BYTES
    )

    [asset] = fake_cloudinary.assets.values()
    assert stored.public_id == asset.public_id
    assert stored.public_id.startswith("products/")
    assert stored.url == (
        f"https://res.cloudinary.com/fake-cloud/image/upload/v1/{asset.public_id}.png"
    )
    assert (stored.width, stored.height) == (120, 80)
    assert asset.bytes == len(data)


async def test_cloudinary_upload_is_a_signed_request_carrying_the_folder(
    fake_cloudinary: FakeCloudinary,
) -> None:
    data = image_bytes("JPEG")

    await cloudinary_store(fake_cloudinary).save(data, folder="products", max_bytes=MAX_BYTES)

    [request] = fake_cloudinary.requests
    assert request.path == "/v1_1/fake-cloud/image/upload"
    assert request.fields["folder"] == "products"
    assert request.fields["api_key"] == fake_cloudinary.api_key
    assert (request.file_name, request.file_size) == ("upload.jpg", len(data))
    signed = {name: value for name, value in request.fields.items() if name not in UNSIGNED_FIELDS}
    assert "timestamp" in signed
    assert request.fields["signature"] == api_sign_request(signed, fake_cloudinary.api_secret)
    assert request.signature_valid
    assert fake_cloudinary.api_secret not in str(request.fields)


@pytest.mark.usefixtures("conflicting_global_config")
async def test_cloudinary_calls_use_only_the_stores_account(
    fake_cloudinary: FakeCloudinary,
) -> None:
    store = cloudinary_store(fake_cloudinary)

    stored = await store.save(image_bytes("PNG"), folder="products", max_bytes=MAX_BYTES)
    await store.delete(stored.public_id)

    assert [request.signature_valid for request in fake_cloudinary.requests] == [True, True]
    assert "upload_preset" not in fake_cloudinary.requests[0].fields
    assert fake_cloudinary.assets == {}


async def test_cloudinary_upload_with_the_wrong_secret_is_refused(
    fake_cloudinary: FakeCloudinary,
) -> None:
    url = f"cloudinary://{fake_cloudinary.api_key}:wrong-secret@{fake_cloudinary.cloud_name}"
    store = CloudinaryImageStore(url, upload_prefix=fake_cloudinary.url)

    with pytest.raises(ImageStoreError, match="Invalid Signature"):
        await store.save(image_bytes("PNG"), folder="products", max_bytes=MAX_BYTES)

    assert not fake_cloudinary.requests[0].signature_valid
    assert fake_cloudinary.assets == {}


async def test_cloudinary_refuses_an_invalid_image_without_calling_cloudinary(
    fake_cloudinary: FakeCloudinary,
) -> None:
    with pytest.raises(InvalidImageError) as raised:
        await cloudinary_store(fake_cloudinary).save(
            image_bytes("GIF"), folder="products", max_bytes=MAX_BYTES
        )

    assert raised.value.code == "UNSUPPORTED_IMAGE_TYPE"
    assert fake_cloudinary.requests == []


async def test_cloudinary_delete_destroys_the_image_and_tolerates_a_missing_one(
    fake_cloudinary: FakeCloudinary,
) -> None:
    store = cloudinary_store(fake_cloudinary)
    stored = await store.save(image_bytes("PNG"), folder="products", max_bytes=MAX_BYTES)

    await store.delete(stored.public_id)
    await store.delete(stored.public_id)

    assert fake_cloudinary.assets == {}
    destroys = fake_cloudinary.requests[1:]
    assert [request.path for request in destroys] == ["/v1_1/fake-cloud/image/destroy"] * 2
    assert all(request.signature_valid for request in destroys)
    assert destroys[0].fields["public_id"] == stored.public_id
    assert destroys[0].fields["invalidate"] == "1"


@pytest.mark.usefixtures("conflicting_global_config")
def test_cloudinary_url_crops_to_fill_the_requested_size() -> None:
    store = CloudinaryImageStore("cloudinary://key:secret@shop-cloud")

    url = store.url("products/abc123", width=200, height=100)

    assert url.startswith("https://res.cloudinary.com/shop-cloud/image/upload/")
    transformation = url.split("/image/upload/", 1)[1].split("/", 1)[0].split(",")
    assert sorted(transformation) == ["c_fill", "h_100", "w_200"]
    assert url.endswith("/products/abc123")
    assert "/image/upload/v1/products/abc123" in store.url("products/abc123")


@pytest.mark.parametrize(("status", "message"), [(500, "General Error"), (401, "Unknown API key")])
async def test_cloudinary_error_raises_image_store_error_without_the_secret(
    fake_cloudinary: FakeCloudinary, status: int, message: str
) -> None:
    fake_cloudinary.fail_with(status, message)

    with pytest.raises(ImageStoreError) as raised:
        await cloudinary_store(fake_cloudinary).save(
            image_bytes("PNG"), folder="products", max_bytes=MAX_BYTES
        )

    assert message in str(raised.value)
    assert fake_cloudinary.api_secret not in "".join(traceback.format_exception(raised.value))


async def test_cloudinary_unreachable_raises_image_store_error_without_the_secret() -> None:
    secret = "unreachable-secret-9f8e7d"
    store = CloudinaryImageStore(
        f"cloudinary://key:{secret}@shop-cloud", upload_prefix=f"http://127.0.0.1:{free_port()}"
    )

    with pytest.raises(ImageStoreError, match="Cloudinary destroy failed") as raised:
        await store.delete("products/abc123")

    assert secret not in "".join(traceback.format_exception(raised.value))


@pytest.mark.parametrize(
    "url",
    [
        "https://key:s3cr3t-value@shop-cloud",
        "cloudinary://key@shop-cloud",
        "cloudinary://key:s3cr3t-value@",
        "cloudinary://key:s3cr3t-value@shop-cloud/private-cdn",
    ],
)
def test_cloudinary_store_refuses_a_malformed_url_without_echoing_it(url: str) -> None:
    with pytest.raises(ValueError, match="CLOUDINARY_URL") as raised:
        CloudinaryImageStore(url)

    assert "s3cr3t-value" not in str(raised.value)


# --- build_image_store ------------------------------------------------------------------------


def test_build_image_store_picks_cloudinary_when_configured(tmp_path: Path) -> None:
    store = build_image_store(
        cloudinary_url="cloudinary://key:secret@shop-cloud",
        local_root=tmp_path,
        local_base_url="/media",
    )

    assert store.name == "cloudinary"
    assert isinstance(store, CloudinaryImageStore)


@pytest.mark.parametrize("cloudinary_url", [None, ""])
def test_build_image_store_falls_back_to_local_files(
    tmp_path: Path, cloudinary_url: str | None
) -> None:
    store = build_image_store(
        cloudinary_url=cloudinary_url, local_root=tmp_path, local_base_url="/media"
    )

    assert store.name == "local"
    assert store.url("products/a.png") == "/media/products/a.png"
