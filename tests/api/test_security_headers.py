"""Security headers on every response, HSTS in production only, and /media serving only stored
images. The GraphiQL page's own policy: tests/api/test_graphiql.py."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import httpx
import pytest
from PIL import Image as PillowImage
from starlette.applications import Starlette

from settings import Environment, Settings
from tests.support import app_sharing_services

PLACEHOLDER = "/demo-images/placeholder.svg?w=40&h=30&color=336699&text=Shoe"
REQUESTS = [
    ("POST", "/graphql", {"json": {"query": "{ __typename }"}}, 200),
    ("GET", "/graphql?query=%7B__typename%7D", {}, 200),
    (
        "POST",
        "/graphql",
        {"content": b"{not json", "headers": {"content-type": "application/json"}},
        400,
    ),
    (
        "POST",
        "/graphql",
        {"content": b"x" * (2 << 20), "headers": {"content-type": "application/json"}},
        413,
    ),
    ("GET", "/healthz", {}, 200),
    ("GET", "/readyz", {}, 200),
    ("POST", "/webhooks/razorpay", {"content": b"{}"}, 400),
    ("GET", PLACEHOLDER, {}, 200),
    ("GET", "/demo-images/placeholder.svg?w=oops", {}, 400),
    ("GET", "/auth/google/login", {}, 303),
    ("GET", "/media/missing.png", {}, 404),
    ("GET", "/nowhere", {}, 404),
    ("GET", "/graphiql/0-0/start.js", {}, 404),
]


def policy(response: httpx.Response) -> dict[str, list[str]]:
    """The response's Content-Security-Policy as directive -> sources."""
    directives = [part.split() for part in response.headers["content-security-policy"].split(";")]
    return {name: sources for name, *sources in directives}


@pytest.mark.parametrize(("method", "path", "options", "status"), REQUESTS)
async def test_every_response_carries_the_security_headers(
    client: httpx.AsyncClient, method: str, path: str, options: dict, status: int
) -> None:
    response = await client.request(method, path, **options)

    assert response.status_code == status, response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"
    assert policy(response)["frame-ancestors"] == ["'none'"]
    assert "strict-transport-security" not in response.headers


async def test_a_response_without_a_policy_of_its_own_may_load_nothing(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/graphql", json={"query": "{ __typename }"})

    assert policy(response) == {"default-src": ["'none'"], "frame-ancestors": ["'none'"]}


async def test_a_routes_own_policy_is_kept_and_framing_refused(client: httpx.AsyncClient) -> None:
    response = await client.get(PLACEHOLDER)

    assert policy(response) == {
        "default-src": ["'none'"],
        "style-src": ["'unsafe-inline'"],
        "frame-ancestors": ["'none'"],
    }
    assert response.headers.get_list("x-content-type-options") == ["nosniff"]


async def test_production_adds_hsts_unless_switched_off(app: Starlette, settings: Settings) -> None:
    production = settings.model_copy(update={"environment": Environment.PRODUCTION})
    without = production.model_copy(update={"hsts_max_age_seconds": 0})
    answers = []
    for configured in (production, without):
        transport = httpx.ASGITransport(app=app_sharing_services(configured, app))
        async with httpx.AsyncClient(transport=transport, base_url="https://shop") as http:
            answers.append(await http.get("/healthz"))

    assert answers[0].headers["strict-transport-security"] == "max-age=31536000"
    assert "strict-transport-security" not in answers[1].headers
    assert answers[1].headers["x-content-type-options"] == "nosniff"


@pytest.fixture
def media_folder(settings: Settings) -> Iterator[Path]:
    """A folder of the local image store for this test, removed afterwards."""
    folder = settings.media_dir / "header-tests"
    folder.mkdir(parents=True, exist_ok=True)
    yield folder
    shutil.rmtree(folder)


def png() -> bytes:
    buffer = BytesIO()
    PillowImage.new("RGB", (4, 3), (20, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


async def test_media_serves_stored_images_with_their_own_type(
    client: httpx.AsyncClient, media_folder: Path
) -> None:
    (media_folder / "picture.png").write_bytes(png())
    (media_folder / "picture.webp").write_bytes(b"<html><script>alert(1)</script></html>")

    image = await client.get("/media/header-tests/picture.png")
    disguised = await client.get("/media/header-tests/picture.webp")

    assert image.status_code == 200
    assert image.content == png()
    assert image.headers["content-type"] == "image/png"
    assert image.headers["content-disposition"] == 'inline; filename="picture.png"'
    assert image.headers["x-content-type-options"] == "nosniff"
    assert policy(image)["default-src"] == ["'none'"]
    # A stored name is served as what its name says, never sniffed into a page.
    assert disguised.headers["content-type"] == "image/webp"
    assert disguised.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("name", ["page.html", "drawing.svg", "notes.txt", "script.js", "noext"])
async def test_media_serves_no_other_kind_of_file(
    client: httpx.AsyncClient, media_folder: Path, name: str
) -> None:
    (media_folder / name).write_text("<svg onload='alert(1)'/>")

    response = await client.get(f"/media/header-tests/{name}")

    assert response.status_code == 404
    assert "alert" not in response.text
