"""Image uploads: Cloudinary in production, files on local disk in development.

``inspect_image`` decides what an upload is from its bytes alone (never from a file name or
a client's content type) and refuses anything but JPEG, PNG and WebP. ``build_image_store``
picks the store once, from settings; every store inspects before it saves and raises
``ImageStoreError`` when the storage service fails.

This module deliberately imports nothing from the project.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import unquote, urlsplit

import cloudinary
import cloudinary.uploader
import cloudinary.utils
from cloudinary.exceptions import Error as CloudinaryError
from PIL import Image, UnidentifiedImageError

__all__ = [
    "ALLOWED_FORMATS",
    "CLOUDINARY_API_PREFIX",
    "LOCAL_CONTENT_TYPES",
    "CloudinaryImageStore",
    "ImageErrorCode",
    "ImageStore",
    "ImageStoreError",
    "InspectedImage",
    "InvalidImageError",
    "LocalImageStore",
    "StoredImage",
    "build_image_store",
    "inspect_image",
]

# Pillow format name -> the content type served for it.
ALLOWED_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
DEFAULT_MAX_PIXELS = 40_000_000

ImageErrorCode = Literal["UNSUPPORTED_IMAGE_TYPE", "IMAGE_TOO_LARGE", "INVALID_IMAGE"]

_EXTENSIONS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp"}
# The content type of each file the local store writes, by its extension: all it may serve.
LOCAL_CONTENT_TYPES = {_EXTENSIONS[name]: ALLOWED_FORMATS[name] for name in ALLOWED_FORMATS}
# Phone cameras write multi-picture JPEGs; Pillow calls them MPO, every browser shows a JPEG.
_FORMAT_ALIASES = {"MPO": "JPEG"}
_FOLDER_PATTERN = re.compile(r"[a-z0-9_-]+(?:/[a-z0-9_-]+)*")
_LOCAL_PUBLIC_ID_PATTERN = re.compile(r"(?:[a-z0-9_-]+/)*[a-z0-9_-]+\.(?:jpg|png|webp)")
CLOUDINARY_API_PREFIX = "https://api.cloudinary.com"
_CLOUDINARY_TIMEOUT = 60.0
# The SDK falls back to its global configuration (read from the environment) for any option
# not passed; pinning these keeps calls and URLs to exactly the account this store was given.
_CLOUDINARY_API_OPTIONS: dict[str, Any] = {
    "oauth_token": None,
    "upload_preset": None,
    "signature_algorithm": cloudinary.utils.SIGNATURE_SHA1,
    "signature_version": 2,
}
_CLOUDINARY_DELIVERY_OPTIONS: dict[str, Any] = {
    "secure": True,
    "private_cdn": False,
    "cname": None,
    "secure_distribution": None,
    "cdn_subdomain": False,
    "secure_cdn_subdomain": False,
    "shorten": False,
    "use_root_path": False,
    "force_version": True,
    "sign_url": False,
    "auth_token": False,
}
_CLOUDINARY_DESTROY_RESULTS = frozenset({"ok", "not found"})


@dataclass(frozen=True)
class StoredImage:
    """An image kept by a store: where it is served from and its size in pixels."""

    url: str
    width: int
    height: int
    public_id: str  # the store's handle, for deleting and transforming


@dataclass(frozen=True)
class InspectedImage:
    """What an upload turned out to be, decided from its content."""

    format: str  # a key of ALLOWED_FORMATS
    content_type: str
    width: int
    height: int


class InvalidImageError(ValueError):
    """The upload is not an acceptable image; ``code`` says why."""

    def __init__(self, code: ImageErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: ImageErrorCode = code


class ImageStoreError(Exception):
    """The image store failed to save or delete an image (the image itself was fine)."""


def inspect_image(
    data: bytes, *, max_bytes: int, max_pixels: int = DEFAULT_MAX_PIXELS
) -> InspectedImage:
    """Check that ``data`` is a JPEG, PNG or WebP image within the limits, and describe it.

    The size in bytes is checked before anything is decoded. Only the header is read to
    learn the format and dimensions, so a small file claiming huge dimensions (a
    decompression bomb) is refused before any pixels are decoded.

    Raises InvalidImageError with code IMAGE_TOO_LARGE (more than ``max_bytes`` bytes or
    ``max_pixels`` pixels), UNSUPPORTED_IMAGE_TYPE (a readable image of another format) or
    INVALID_IMAGE (not a readable image).
    """
    if len(data) > max_bytes:
        raise InvalidImageError(
            "IMAGE_TOO_LARGE", f"The image is {len(data)} bytes; at most {max_bytes} are allowed."
        )
    if not data:
        raise InvalidImageError("INVALID_IMAGE", "The upload is empty.")
    try:
        with Image.open(BytesIO(data)) as image:
            detected = image.format or ""
            image_format = _FORMAT_ALIASES.get(detected, detected)
            if image_format not in ALLOWED_FORMATS:
                raise InvalidImageError(
                    "UNSUPPORTED_IMAGE_TYPE",
                    f"{detected or 'This'} images are not accepted; upload a JPEG, PNG or WebP image.",
                )
            width, height = image.size
            if width * height > max_pixels:
                raise InvalidImageError(
                    "IMAGE_TOO_LARGE",
                    f"The image is {width}x{height} pixels; at most {max_pixels} pixels are allowed.",
                )
            image.verify()
    except InvalidImageError:
        raise
    except Image.DecompressionBombError as exc:
        raise InvalidImageError("IMAGE_TOO_LARGE", "The image has too many pixels.") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        # Pillow's plugins report corrupt data with any of these.
        raise InvalidImageError("INVALID_IMAGE", "The upload is not a readable image.") from exc
    return InspectedImage(
        format=image_format,
        content_type=ALLOWED_FORMATS[image_format],
        width=width,
        height=height,
    )


class ImageStore(Protocol):
    """Keeps uploaded images; ``name`` says which implementation runs (shown at startup)."""

    name: str

    async def save(self, data: bytes, *, folder: str, max_bytes: int) -> StoredImage:
        """Inspect ``data`` (see ``inspect_image``), then store it under ``folder``.

        ``folder`` is ``""`` or segments of lower-case letters, digits, ``_`` and ``-`` joined by
        ``/``; anything else (``..``, a leading ``/``) raises ValueError.
        Raises InvalidImageError for a refused upload and ImageStoreError when storing fails.
        """
        ...

    async def delete(self, public_id: str) -> None:
        """Delete the image; deleting one that does not exist is not an error."""
        ...

    def url(self, public_id: str, *, width: int | None = None, height: int | None = None) -> str:
        """URL of the image, resized to ``width``/``height`` where the store can transform."""
        ...


def build_image_store(
    *,
    cloudinary_url: str | None,
    local_root: Path,
    local_base_url: str,
    cloudinary_upload_prefix: str | None = None,
) -> ImageStore:
    """Cloudinary when ``cloudinary_url`` is set, otherwise files under ``local_root``."""
    if cloudinary_url:
        return CloudinaryImageStore(cloudinary_url, upload_prefix=cloudinary_upload_prefix)
    return LocalImageStore(local_root, local_base_url)


class LocalImageStore:
    """Development stand-in: writes files under ``root``, served by the app at ``base_url``.

    The public id is ``<folder>/<random name><extension>``, and the URL is
    ``<base_url>/<public id>``. Images are served as uploaded, never resized.
    """

    name = "local"

    def __init__(self, root: Path, base_url: str) -> None:
        self._root = Path(root)
        self._base_url = base_url.rstrip("/")

    async def save(self, data: bytes, *, folder: str, max_bytes: int) -> StoredImage:
        """Inspect ``data`` and write it to a new file; see ``ImageStore.save``."""
        folder = _checked_folder(folder)
        inspected = await asyncio.to_thread(inspect_image, data, max_bytes=max_bytes)
        file_name = secrets.token_hex(16) + _EXTENSIONS[inspected.format]
        public_id = f"{folder}/{file_name}" if folder else file_name
        try:
            await asyncio.to_thread(self._write, public_id, data)
        except OSError as exc:
            raise ImageStoreError(f"Could not write image {public_id}: {exc}") from exc
        return StoredImage(
            url=self.url(public_id),
            width=inspected.width,
            height=inspected.height,
            public_id=public_id,
        )

    async def delete(self, public_id: str) -> None:
        """Remove the image's file if it exists.

        Raises ValueError for an id this store could not have produced (e.g. ``../x``).
        """
        path = self._path(public_id)
        try:
            await asyncio.to_thread(path.unlink, missing_ok=True)
        except OSError as exc:
            raise ImageStoreError(f"Could not delete image {public_id}: {exc}") from exc

    def url(self, public_id: str, *, width: int | None = None, height: int | None = None) -> str:
        """The original image's URL; local files are not resized."""
        return f"{self._base_url}/{public_id}"

    def _path(self, public_id: str) -> Path:
        if not _LOCAL_PUBLIC_ID_PATTERN.fullmatch(public_id):
            raise ValueError(f"Not an image id of the local store: {public_id!r}")
        return self._root / public_id

    def _write(self, public_id: str, data: bytes) -> None:
        path = self._path(public_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Exclusive create: a name collision must fail rather than replace another image.
        with path.open("xb") as file:
            file.write(data)


@dataclass(frozen=True)
class _CloudinaryAccount:
    cloud_name: str
    api_key: str
    api_secret: str = field(repr=False)


class CloudinaryImageStore:
    """Stores images on Cloudinary with the official (blocking) SDK, run in worker threads.

    The account comes from a ``CLOUDINARY_URL`` (``cloudinary://<key>:<secret>@<cloud>``) and
    is passed to every SDK call, so the SDK's global configuration is never changed.
    ``upload_prefix`` replaces ``CLOUDINARY_API_PREFIX`` (tests point it at a local fake).
    """

    name = "cloudinary"

    def __init__(
        self,
        cloudinary_url: str,
        upload_prefix: str | None = None,
        *,
        timeout: float = _CLOUDINARY_TIMEOUT,
    ) -> None:
        self._account = _parse_cloudinary_url(cloudinary_url)
        self._upload_prefix = (upload_prefix or CLOUDINARY_API_PREFIX).rstrip("/")
        self._timeout = timeout

    async def save(self, data: bytes, *, folder: str, max_bytes: int) -> StoredImage:
        """Inspect ``data`` and upload it to Cloudinary; see ``ImageStore.save``."""
        folder = _checked_folder(folder)
        inspected = await asyncio.to_thread(inspect_image, data, max_bytes=max_bytes)
        result = await self._call(
            "upload",
            cloudinary.uploader.upload,
            data,
            folder=folder or None,
            resource_type="image",
            # Names the multipart file part; without it the SDK sends "file", no extension.
            filename="upload" + _EXTENSIONS[inspected.format],
        )
        try:
            return StoredImage(
                url=str(result["secure_url"]),
                width=int(result["width"]),
                height=int(result["height"]),
                public_id=str(result["public_id"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ImageStoreError(
                f"Cloudinary upload answered without {exc}: keys {sorted(result)}"
            ) from None

    async def delete(self, public_id: str) -> None:
        """Delete the image on Cloudinary and invalidate its CDN copies; missing is fine."""
        result = await self._call(
            "destroy", cloudinary.uploader.destroy, public_id, invalidate=True
        )
        outcome = result.get("result")
        if outcome not in _CLOUDINARY_DESTROY_RESULTS:
            raise ImageStoreError(f"Cloudinary destroy of {public_id!r} answered {outcome!r}")

    def url(self, public_id: str, *, width: int | None = None, height: int | None = None) -> str:
        """HTTPS delivery URL; with both sizes the image is cropped to fill them exactly."""
        transformation: dict[str, Any] = {}
        if width is not None:
            transformation["width"] = width
        if height is not None:
            transformation["height"] = height
        if transformation:
            # "fill" needs both sides; with one, scale keeps the aspect ratio.
            transformation["crop"] = "fill" if len(transformation) == 2 else "scale"
        url, _ = cloudinary.utils.cloudinary_url(
            public_id,
            resource_type="image",
            cloud_name=self._account.cloud_name,
            **_CLOUDINARY_DELIVERY_OPTIONS,
            **transformation,
        )
        return str(url)

    async def _call(
        self, action: str, function: Callable[..., Any], *args: Any, **options: Any
    ) -> dict[str, Any]:
        account = self._account
        options |= _CLOUDINARY_API_OPTIONS | {
            "cloud_name": account.cloud_name,
            "api_key": account.api_key,
            "api_secret": account.api_secret,
            "upload_prefix": self._upload_prefix,
            "timeout": self._timeout,
        }
        try:
            result = await asyncio.to_thread(function, *args, **options)
        except (CloudinaryError, OSError) as exc:
            # The secret is scrubbed and the original exception not chained, so neither the
            # message nor a logged traceback can carry it.
            detail = f"{type(exc).__name__}: {exc}".replace(account.api_secret, "[redacted]")
            raise ImageStoreError(f"Cloudinary {action} failed: {detail}") from None
        if not isinstance(result, dict):
            raise ImageStoreError(f"Cloudinary {action} answered {type(result).__name__}")
        return result


def _parse_cloudinary_url(cloudinary_url: str) -> _CloudinaryAccount:
    # Errors name the expected shape, never the given value: it holds the API secret.
    parts = urlsplit(cloudinary_url)
    if parts.scheme != "cloudinary":
        raise ValueError("CLOUDINARY_URL must start with cloudinary://")
    if parts.path.strip("/") or parts.query:
        raise ValueError(
            "CLOUDINARY_URL with a private CDN path or query options is not supported; "
            "use cloudinary://<api_key>:<api_secret>@<cloud_name>"
        )
    api_key = unquote(parts.username or "")
    api_secret = unquote(parts.password or "")
    cloud_name = parts.hostname or ""
    if not (api_key and api_secret and cloud_name):
        raise ValueError(
            "CLOUDINARY_URL must look like cloudinary://<api_key>:<api_secret>@<cloud_name>"
        )
    return _CloudinaryAccount(cloud_name=cloud_name, api_key=api_key, api_secret=api_secret)


def _checked_folder(folder: str) -> str:
    if folder and not _FOLDER_PATTERN.fullmatch(folder):
        raise ValueError(
            f"Invalid image folder {folder!r}: use lower-case letters, digits, '_', '-' and '/'"
        )
    return folder
