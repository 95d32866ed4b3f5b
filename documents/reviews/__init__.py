"""Reviews of products by their verified buyers, and the rating aggregates they keep exact."""

from documents.reviews.changes import (
    ReviewChange,
    create_review,
    delete_review,
    hide_review,
    unhide_review,
    update_review,
    verified_order_of,
)
from documents.reviews.model import (
    MAX_BODY_LENGTH,
    MAX_REASON_LENGTH,
    MAX_TITLE_LENGTH,
    ModerationHold,
    Review,
    ReviewError,
    ReviewErrorCode,
    ReviewFields,
    ReviewModeration,
)

REVIEW_DOCUMENTS = [Review, ModerationHold]

__all__ = [
    "MAX_BODY_LENGTH",
    "MAX_REASON_LENGTH",
    "MAX_TITLE_LENGTH",
    "REVIEW_DOCUMENTS",
    "ModerationHold",
    "Review",
    "ReviewChange",
    "ReviewError",
    "ReviewErrorCode",
    "ReviewFields",
    "ReviewModeration",
    "create_review",
    "delete_review",
    "hide_review",
    "unhide_review",
    "update_review",
    "verified_order_of",
]
