"""The demo catalog's images are placeholders the API serves itself, at its public URL."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from documents.demo_catalog import load_demo_catalog
from documents.demo_images import DEMO_IMAGE_PATH
from settings import Settings
from tests.support import SVG_NAMESPACE, graphql, parse_svg

PRODUCT_IMAGES = """
{ products(first: 10) { edges { node { name images { url alt width height } } } } }
"""
CATEGORY_IMAGE = """
query Category($slug: String!) { category(slug: $slug) { name image { url width height } } }
"""


def path_of(url: str, settings: Settings) -> str:
    """The path and query of an image URL that must point at this API."""
    assert url.startswith(f"{settings.public_url}{DEMO_IMAGE_PATH}?"), url
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def test_seeded_product_images_are_svgs_served_by_the_api(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await load_demo_catalog(30, public_url=settings.public_url, seed=3)

    body = await graphql(client, PRODUCT_IMAGES)

    products = [edge["node"] for edge in body["data"]["products"]["edges"]]
    assert len(products) == 10
    for product in products:
        assert product["images"]
        for image in product["images"]:
            assert (image["width"], image["height"]) == (800, 800)
            response = await client.get(path_of(image["url"], settings))
            assert response.status_code == 200
            assert response.headers["content-type"] == "image/svg+xml"
            assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
            assert response.headers["content-security-policy"].startswith("default-src 'none'")
            svg = parse_svg(response.text)
            assert (svg.get("width"), svg.get("height")) == ("800", "800")
            assert svg.get("aria-label") == image["alt"]
            texts = [" ".join(node.itertext()) for node in svg.iter(f"{SVG_NAMESPACE}text")]
            assert texts[0] == product["name"]  # wrapped onto lines; the caption follows


async def test_a_category_image_carries_the_escaped_name(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await load_demo_catalog(0, public_url=settings.public_url, seed=3)

    body = await graphql(client, CATEGORY_IMAGE, {"slug": "home-kitchen"})

    category = body["data"]["category"]
    assert category["name"] == "Home & Kitchen"
    image = category["image"]
    assert (image["width"], image["height"]) == (600, 400)
    response = await client.get(path_of(image["url"], settings))
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert "Home &amp; Kitchen" in response.text
    assert parse_svg(response.text).get("aria-label") == "Home & Kitchen"


async def test_a_url_that_is_no_demo_image_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.get(DEMO_IMAGE_PATH, params={"w": "800", "h": "800", "text": "x"})

    assert response.status_code == 400
    assert response.text == "Not a demo image"  # the same answer, whatever was wrong
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    echoed = await client.get(DEMO_IMAGE_PATH, params={"w": "<b>800</b>", "h": "800"})
    assert (echoed.status_code, echoed.text) == (400, "Not a demo image")
