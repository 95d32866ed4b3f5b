"""Types every domain shares: money and images."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import strawberry

from documents import common
from documents.money import to_decimal
from resolvers import images
from schema.info import Info


def maybe_value(value: Any, convert: Any = None) -> Any:
    """A `strawberry.Maybe` input field as the domain's UNSET-or-value: UNSET when the client
    left it out, else its value (None when sent as null), passed through `convert` if given."""
    if value is None:
        return common.UNSET
    return convert(value.value) if convert and value.value is not None else value.value


@strawberry.type(description="An amount of money in one currency.")
class Money:
    amount: Decimal = strawberry.field(
        description='Exact decimal amount in major units, sent as a string ("1299.00").'
    )
    currency: str = strawberry.field(description="ISO 4217 currency code, e.g. INR.")

    @classmethod
    def of(cls, minor_units: int, currency: str) -> Money:
        return cls(amount=to_decimal(minor_units, currency), currency=currency)


@strawberry.input(description="A size to deliver an image at; give one side or both.")
class ImageTransform:
    width: int | None = strawberry.field(default=None, description="Width in pixels, 1 to 4000.")
    height: int | None = strawberry.field(default=None, description="Height in pixels, 1 to 4000.")


@strawberry.type(description="An image in the shop's image store.")
class Image:
    id: strawberry.ID = strawberry.field(
        description=(
            "Names the image in image mutations: its id in the image store, or its URL for an "
            "image kept elsewhere."
        )
    )
    alt: str = strawberry.field(description="Text alternative for screen readers.")
    width: int | None = strawberry.field(description="Width in pixels, when known.")
    height: int | None = strawberry.field(description="Height in pixels, when known.")
    _document: strawberry.Private[common.Image]

    @classmethod
    def from_document(cls, image: common.Image) -> Image:
        return cls(
            id=strawberry.ID(images.image_id(image)),
            alt=image.alt,
            width=image.width,
            height=image.height,
            _document=image,
        )

    @strawberry.field(
        description=(
            "Absolute URL of the image. With `transform`, resized where the image store can: "
            "Cloudinary crops to fill both sides (or scales to one); local files and images "
            "kept elsewhere are served as they are."
        )
    )
    def url(
        self,
        info: Info,
        transform: Annotated[
            ImageTransform | None,
            strawberry.argument(description="A size to resize to; omit for the image as stored."),
        ] = None,
    ) -> str:
        if transform is None:
            return self._document.url
        return images.image_url(
            info.context, self._document, width=transform.width, height=transform.height
        )
