"""The domain's Python enums as GraphQL enums, with a description of every value."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import TypeVar

import strawberry
from strawberry.types.enum import StrawberryEnumDefinition

E = TypeVar("E", bound=type[enum.Enum])

# Codes of an image upload (`integrations/images.py`), shared by every domain that takes one.
IMAGE_UPLOAD_CODES = {
    "UNSUPPORTED_IMAGE_TYPE": "The upload is an image, but not a JPEG, PNG or WebP one.",
    "IMAGE_TOO_LARGE": "The image has more bytes or pixels than allowed; the message says which.",
    "INVALID_IMAGE": "The upload is empty or not a readable image.",
    "IMAGE_STORE_UNAVAILABLE": "The image store did not take the image; try again.",
}


def described_enum(
    cls: E, description: str, values: Mapping[str, str], *, name: str | None = None
) -> E:
    """Register `cls` as a GraphQL enum named `name` (else the class's name), `values` describing
    each member by name. The domain's enums cannot carry GraphQL descriptions (`documents/`
    knows nothing of GraphQL), so they are given here; a member left undescribed fails at
    import, so a new code is described before it ships."""
    names = {member.name for member in cls}
    if names != values.keys():
        missing, unknown = sorted(names - values.keys()), sorted(values.keys() - names)
        raise TypeError(f"{cls.__name__}: undescribed {missing}, not members {unknown}")
    strawberry.enum(cls, name=name, description=description)
    definition = cls.__strawberry_definition__  # type: ignore[attr-defined]
    assert isinstance(definition, StrawberryEnumDefinition)
    for value in definition.values:
        value.description = values[value.name]
    return cls
