"""`GET /demo-images/placeholder.svg`: the demo catalog's placeholder images, drawn from the URL.

The URL describes the whole image (`documents.demo_images`), so the answer never changes and
caches for good. Nothing is read from the database.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from documents.demo_images import DEMO_IMAGE_PATH, DemoImage

__all__ = ["DEMO_IMAGE_PATH", "demo_image"]

_HEADERS = {
    "Cache-Control": "public, max-age=31536000, immutable",
    # Opened on its own, an SVG is a document: allow it no scripts, fetches or frames.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
}

_REFUSAL_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


async def demo_image(request: Request) -> Response:
    try:
        image = DemoImage.from_query(request.query_params)
    except ValueError:
        # A fixed answer: the reason would echo the caller's input back from the API's origin.
        return PlainTextResponse("Not a demo image", status_code=400, headers=_REFUSAL_HEADERS)
    return Response(image.svg(), media_type="image/svg+xml", headers=_HEADERS)
