"""Reviews: who may write one, what it holds, and the rules for its text."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import pymongo
from beanie import Document, PydanticObjectId
from pydantic import BaseModel, Field
from pymongo import IndexModel

from documents.common import UNSET, utc_now
from documents.errors import DomainError, InvalidFieldsError
from documents.text import is_visible_text, shows_something

MAX_TITLE_LENGTH = 120
MAX_BODY_LENGTH = 5000
MAX_REASON_LENGTH = 500
# The whitespace a one-line text may hold, as spaces; any other control character is refused.
_SPACES = str.maketrans("\t\n\r", "   ")


class ReviewErrorCode(enum.StrEnum):
    """Why a review operation was refused; clients branch on these."""

    PRODUCT_NOT_FOUND = "PRODUCT_NOT_FOUND"
    NOT_A_VERIFIED_BUYER = "NOT_A_VERIFIED_BUYER"
    ALREADY_REVIEWED = "ALREADY_REVIEWED"
    REVIEW_NOT_FOUND = "REVIEW_NOT_FOUND"
    INVALID_RATING = "INVALID_RATING"
    INVALID_TITLE = "INVALID_TITLE"
    INVALID_BODY = "INVALID_BODY"
    INVALID_REASON = "INVALID_REASON"


class ReviewError(DomainError):
    """A refused review change; reported in the mutation payload's `errors`."""

    def __init__(
        self,
        code: ReviewErrorCode,
        message: str,
        *,
        field: str | None = None,
        existing_review_id: PydanticObjectId | None = None,
    ) -> None:
        super().__init__(code, message, field=field)
        self.existing_review_id = existing_review_id


class ReviewModeration(BaseModel):
    """Why and by whom a review was hidden."""

    hidden_at: datetime
    reason: str
    hidden_by: PydanticObjectId


class Review(Document):
    """One buyer's review of one product. While `hidden`, it is out of the lists and out of the
    product's rating aggregates."""

    product_id: PydanticObjectId
    author_id: PydanticObjectId
    rating: Annotated[int, Field(ge=1, le=5)]
    title: str
    body: str = ""
    # The delivered order that made its author a verified buyer of the product.
    order_id: PydanticObjectId | None = None
    hidden: bool = False
    moderation: ReviewModeration | None = None
    created_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now)
    edited_at: datetime | None = None

    @property
    def verified_purchase(self) -> bool:
        return self.order_id is not None

    @property
    def counted_rating(self) -> int | None:
        """The stars this review adds to its product's aggregates; None while hidden."""
        return None if self.hidden else self.rating

    class Settings:
        name = "reviews"
        indexes = [
            # One review per user per product, whoever races to write it.
            IndexModel(
                [("product_id", pymongo.ASCENDING), ("author_id", pymongo.ASCENDING)],
                name="product_author_unique",
                unique=True,
            ),
            # A product's visible reviews: newest or lowest first, newest among ties.
            IndexModel(
                [
                    ("product_id", pymongo.ASCENDING),
                    ("hidden", pymongo.ASCENDING),
                    ("created_at", pymongo.DESCENDING),
                    ("_id", pymongo.DESCENDING),
                ],
                name="product_newest",
            ),
            # Highest first: see SAME_FIELDS_INDEXES below.
            IndexModel(
                [
                    ("product_id", pymongo.ASCENDING),
                    ("hidden", pymongo.ASCENDING),
                    ("rating", pymongo.ASCENDING),
                    ("_id", pymongo.DESCENDING),
                ],
                name="product_lowest",
            ),
            IndexModel(
                [
                    ("author_id", pymongo.ASCENDING),
                    ("created_at", pymongo.DESCENDING),
                    ("_id", pymongo.DESCENDING),
                ],
                name="author_newest",
            ),
            # The moderation queue: every review, or the hidden ones, newest first.
            IndexModel(
                [
                    ("hidden", pymongo.ASCENDING),
                    ("created_at", pymongo.DESCENDING),
                    ("_id", pymongo.DESCENDING),
                ],
                name="hidden_newest",
            ),
        ]


class ModerationHold(Document):
    """A hidden review its author deleted: their next review of the product starts hidden, for
    the same reason, so deleting and writing again does not undo a moderator's decision.
    Unhiding that next review lifts the hold."""

    product_id: PydanticObjectId
    author_id: PydanticObjectId
    moderation: ReviewModeration
    created_at: datetime = Field(default_factory=utc_now)

    class Settings:
        name = "review_moderation_holds"
        indexes = [
            IndexModel(
                [("product_id", pymongo.ASCENDING), ("author_id", pymongo.ASCENDING)],
                name="product_author_unique",
                unique=True,
            )
        ]


@dataclass(frozen=True)
class ReviewFields:
    """What a review says; UNSET fields stay as they are (on an update)."""

    rating: Any = UNSET
    title: Any = UNSET
    body: Any = UNSET


def checked_fields(fields: ReviewFields) -> dict[str, Any]:
    """The fields given, cleaned; every problem reported at once."""
    problems: list[ReviewError] = []
    values: dict[str, Any] = {}
    if fields.rating is not UNSET:
        if type(fields.rating) is not int or not 1 <= fields.rating <= 5:
            problems.append(
                ReviewError(ReviewErrorCode.INVALID_RATING, "Rate 1 to 5 stars", field="rating")
            )
        values["rating"] = fields.rating
    if fields.title is not UNSET:
        raw_title = str(fields.title or "").translate(_SPACES)
        title = " ".join(raw_title.split())
        if (
            not 1 <= len(title) <= MAX_TITLE_LENGTH
            or not is_visible_text(raw_title)
            or not shows_something(title)
        ):
            problems.append(
                ReviewError(
                    ReviewErrorCode.INVALID_TITLE,
                    f"Give a title of 1 to {MAX_TITLE_LENGTH} characters, without control "
                    "characters",
                    field="title",
                )
            )
        values["title"] = title
    if fields.body is not UNSET:
        body = plain_text(str(fields.body or ""))
        if body is None or len(body) > MAX_BODY_LENGTH:
            problems.append(
                ReviewError(
                    ReviewErrorCode.INVALID_BODY,
                    f"Write up to {MAX_BODY_LENGTH} characters; line breaks and tabs are the "
                    "only control characters allowed",
                    field="body",
                )
            )
        values["body"] = body
    if problems:
        raise InvalidFieldsError(problems)
    return values


def plain_text(text: str) -> str | None:
    """Multi-line plain text with its line endings as `\\n`, tabs as spaces and outer blank space
    trimmed; None when it holds any other control or invisible character."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ").split("\n")
    if not all(is_visible_text(line) for line in lines):
        return None
    return "\n".join(line.rstrip() for line in lines).strip()


def checked_reason(reason: str) -> str:
    """A moderator's reason for hiding a review: required, one line, limited."""
    raw = reason.translate(_SPACES)
    cleaned = " ".join(raw.split())
    if (
        not 1 <= len(cleaned) <= MAX_REASON_LENGTH
        or not is_visible_text(raw)
        or not shows_something(cleaned)
    ):
        raise ReviewError(
            ReviewErrorCode.INVALID_REASON,
            f"Give a reason of 1 to {MAX_REASON_LENGTH} characters",
            field="reason",
        )
    return cleaned


# Indexes `Settings.indexes` cannot hold: Beanie keeps one index per set of field names, whatever
# their directions, and highest-first (rating and `_id` descending) is not lowest-first
# (rating ascending, `_id` descending) read backwards. Created by `registry.create_indexes`.
SAME_FIELDS_INDEXES = [
    IndexModel(
        [
            ("product_id", pymongo.ASCENDING),
            ("hidden", pymongo.ASCENDING),
            ("rating", pymongo.DESCENDING),
            ("_id", pymongo.DESCENDING),
        ],
        name="product_highest",
    )
]
