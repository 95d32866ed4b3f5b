"""Images as clients name and fetch them, for every kind of document that has images."""

from __future__ import annotations

from documents.common import Image
from documents.errors import InvalidInputError
from resolvers.context import Context

MAX_TRANSFORM_SIDE = 4000


def image_id(image: Image) -> str:
    """The id clients name an image by: its public id in the store, else its URL."""
    return image.public_id or image.url


def image_url(ctx: Context, image: Image, *, width: int | None, height: int | None) -> str:
    """The image's URL, resized by the store where it can (1 to 4000 pixels a side)."""
    for name, value in (("width", width), ("height", height)):
        if value is not None and not 1 <= value <= MAX_TRANSFORM_SIDE:
            raise InvalidInputError(
                f"{name} must be 1 to {MAX_TRANSFORM_SIDE} pixels", field=f"transform.{name}"
            )
    if image.public_id is None or (width is None and height is None):
        return image.url
    return ctx.services.images.url(image.public_id, width=width, height=height)
