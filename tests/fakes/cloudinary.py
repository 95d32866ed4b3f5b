"""A local fake of Cloudinary's Upload API (upload and destroy): a real HTTP server on 127.0.0.1.

Point the real SDK at ``fake.url`` (its ``upload_prefix``) to exercise its code paths without
the network::

    with FakeCloudinary() as fake:
        store = CloudinaryImageStore(fake.cloudinary_url, upload_prefix=fake.url)
        ...
        assert fake.requests[0].fields["folder"] == "products"

Like Cloudinary, the fake checks each request's signature against its API secret and answers
401 when it does not match. Each request is recorded (form fields, not the file bytes) before
it is answered, so once the client has its response the request is in ``fake.requests``.
``fail_with`` makes later requests fail with Cloudinary's error JSON.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler
from io import BytesIO
from typing import Any

from cloudinary.utils import api_sign_request
from PIL import Image

from tests.fakes.local_http import LocalHttpFake

# Sent with the request but, as on Cloudinary, not part of the signed string.
UNSIGNED_FIELDS = frozenset({"file", "api_key", "signature", "resource_type", "cloud_name"})
DEFAULT_CLOUD_NAME = "fake-cloud"
DEFAULT_API_KEY = "123456789012345"
DEFAULT_API_SECRET = "fake-api-secret-a1b2c3d4e5"
_PATH = re.compile(r"/v1_1/(?P<cloud>[^/]+)/image/(?P<action>upload|destroy)")
# Pillow's format name -> the format Cloudinary reports and uses as the URL's extension.
_CLOUDINARY_FORMATS = {"JPEG": "jpg", "MPO": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received."""

    path: str
    fields: dict[str, str]  # the form fields except the file
    file_name: str | None  # the file part's file name, when there was a file
    file_size: int  # bytes in the file part; 0 without one
    signature_valid: bool


@dataclass(frozen=True)
class FakeAsset:
    """An image the fake holds after an upload."""

    public_id: str
    format: str
    width: int
    height: int
    bytes: int


class FakeCloudinary(LocalHttpFake):
    """Cloudinary's image upload and destroy endpoints for one account."""

    def __init__(
        self,
        *,
        cloud_name: str = DEFAULT_CLOUD_NAME,
        api_key: str = DEFAULT_API_KEY,
        api_secret: str = DEFAULT_API_SECRET,
    ) -> None:
        super().__init__()
        self.cloud_name = cloud_name
        self.api_key = api_key
        self.api_secret = api_secret
        self.requests: list[RecordedRequest] = []
        self.assets: dict[str, FakeAsset] = {}
        self._lock = threading.Lock()
        self._failure: tuple[int, str] | None = None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        return _handler_for(self)

    @property
    def url(self) -> str:
        """The base URL to give the SDK, e.g. ``http://127.0.0.1:54321``."""
        return self.base_url

    @property
    def cloudinary_url(self) -> str:
        """The account as a ``CLOUDINARY_URL``: ``cloudinary://<key>:<secret>@<cloud>``."""
        return f"cloudinary://{self.api_key}:{self.api_secret}@{self.cloud_name}"

    def fail_with(self, status: int, message: str = "simulated failure") -> None:
        """Answer later requests with ``status`` and ``{"error": {"message": message}}``."""
        with self._lock:
            self._failure = (status, message)

    def reset(self) -> None:
        """Forget requests and assets and answer normally again (for reuse across tests)."""
        with self._lock:
            self.requests.clear()
            self.assets.clear()
            self._failure = None

    def _answer(
        self, path: str, fields: dict[str, str], file: tuple[str | None, bytes] | None
    ) -> tuple[int, dict[str, Any]]:
        signed = {name: value for name, value in fields.items() if name not in UNSIGNED_FIELDS}
        expected = api_sign_request(signed, self.api_secret)
        signature_valid = secrets.compare_digest(fields.get("signature", ""), expected)
        with self._lock:
            self.requests.append(
                RecordedRequest(
                    path=path,
                    fields=fields,
                    file_name=file[0] if file else None,
                    file_size=len(file[1]) if file else 0,
                    signature_valid=signature_valid,
                )
            )
            if self._failure is not None:
                return self._failure[0], _error(self._failure[1])
            match = _PATH.fullmatch(path)
            if match is None:
                return 404, _error(f"no fake for POST {path}")
            if match["cloud"] != self.cloud_name:
                return 401, _error(f"Invalid cloud_name {match['cloud']}")
            if fields.get("api_key") != self.api_key:
                return 401, _error(f"Unknown API key {fields.get('api_key')}")
            if not signature_valid:
                return 401, _error(f"Invalid Signature {fields.get('signature')}")
            if match["action"] == "upload":
                return self._upload(fields, file)
            return self._destroy(fields)

    def _upload(
        self, fields: dict[str, str], file: tuple[str | None, bytes] | None
    ) -> tuple[int, dict[str, Any]]:
        if file is None:
            return 400, _error("Missing required parameter - file")
        try:
            with Image.open(BytesIO(file[1])) as image:
                pillow_format = image.format or ""
                width, height = image.size
        except (OSError, ValueError, SyntaxError):
            return 400, _error("Invalid image file")
        image_format = _CLOUDINARY_FORMATS.get(pillow_format, pillow_format.lower())
        name = fields.get("public_id") or secrets.token_hex(10)
        folder = fields.get("folder", "").strip("/")
        public_id = f"{folder}/{name}" if folder else name
        self.assets[public_id] = FakeAsset(public_id, image_format, width, height, len(file[1]))
        delivery = (
            f"res.cloudinary.com/{self.cloud_name}/image/upload/v1/{public_id}.{image_format}"
        )
        return 200, {
            "public_id": public_id,
            "version": 1,
            "resource_type": "image",
            "type": "upload",
            "format": image_format,
            "width": width,
            "height": height,
            "bytes": len(file[1]),
            "url": f"http://{delivery}",
            "secure_url": f"https://{delivery}",
        }

    def _destroy(self, fields: dict[str, str]) -> tuple[int, dict[str, Any]]:
        public_id = fields.get("public_id", "")
        if self.assets.pop(public_id, None) is None:
            return 200, {"result": "not found"}
        return 200, {"result": "ok"}


def _error(message: str) -> dict[str, Any]:
    return {"error": {"message": message}}


def _parse_multipart(
    content_type: str, body: bytes
) -> tuple[dict[str, str], tuple[str | None, bytes] | None]:
    # The SDK posts multipart/form-data built by urllib3; the email parser reads it as MIME.
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    fields: dict[str, str] = {}
    file: tuple[str | None, bytes] | None = None
    if not message.is_multipart():
        return fields, file
    parts: list[Message] = message.get_payload()  # type: ignore[assignment]
    for part in parts:
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        if name == "file":
            file = (part.get_filename(), data)
        elif isinstance(name, str):
            fields[name] = data.decode("utf-8")
    return fields, file


def _handler_for(fake: FakeCloudinary) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            fields, file = _parse_multipart(self.headers.get("Content-Type", ""), body)
            status, answer = fake._answer(self.path, fields, file)
            payload = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            # Keep test output clean; the recorded requests are the log.
            pass

    return Handler
