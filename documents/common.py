"""Pieces every aggregate shares: the clock, saved ids and images."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from beanie import Document, PydanticObjectId
from pydantic import BaseModel

# A field a partial write leaves as it is (None may be a value to store).
UNSET: Any = object()


def utc_now() -> datetime:
    """Current time in UTC, truncated to milliseconds as MongoDB stores it."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def stored_id(document: Document) -> PydanticObjectId:
    """The id of a document read from or written to the database (Beanie types it optional)."""
    if document.id is None:
        raise ValueError(f"{type(document).__name__} has not been saved")
    return document.id


class Image(BaseModel):
    """An image in the image store; `public_id` is the store's handle for deleting it."""

    url: str
    alt: str = ""
    width: int | None = None
    height: int | None = None
    public_id: str | None = None
