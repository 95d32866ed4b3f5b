"""Every change to a review, with its product's rating aggregates in the same transaction.

Each write reads the review inside the transaction, writes it, and adds the difference it makes
to the product's rating histogram (`ratings.histogram_change`): a review counts with its rating
while visible and not at all while hidden or deleted. Two writes of one review conflict in MongoDB
and one retries on what the other left, so the aggregates always equal the imported ratings plus
the ratings of the visible reviews. Writes on one product take turns in this process
(`turns.product_turns`), sparing the attempts that would only conflict on the product.

Deleting a hidden review leaves a `ModerationHold`, so the author's next review of the product
starts hidden for the same reason; showing the review again lifts it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from beanie import PydanticObjectId
from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from documents.catalog import Product
from documents.catalog_counts import count_product_changes
from documents.common import utc_now
from documents.orders import Order, OrderStatus
from documents.reviews.model import (
    ModerationHold,
    Review,
    ReviewError,
    ReviewErrorCode,
    ReviewFields,
    ReviewModeration,
    checked_fields,
    checked_reason,
)
from documents.reviews.ratings import histogram_change, rating_change_pipeline, rating_fields
from documents.transactions import in_transaction
from documents.turns import product_turns


@dataclass(frozen=True)
class ReviewChange:
    """A review before and after one write (None where it did not or no longer exists), and its
    product after the write when the write changed the product's ratings."""

    before: Review | None
    after: Review | None
    product: Product | None = None

    @property
    def review(self) -> Review:
        found = self.after or self.before
        assert found is not None
        return found

    @property
    def ratings_changed(self) -> bool:
        return self.product is not None

    @property
    def changed(self) -> bool:
        """False for a write that found nothing to change (the same title, an unhide of a
        visible review)."""
        return self.before is not self.after


def _counted(review: Review | None) -> int | None:
    return None if review is None else review.counted_rating


async def _count_change(
    before: Review | None, after: Review | None, session: AsyncClientSession
) -> Product | None:
    """Add what the change from `before` to `after` makes to the product's ratings."""
    change = histogram_change(_counted(before), _counted(after))
    if not any(change):
        return None
    product_id = (after or before).product_id  # type: ignore[union-attr]
    raw = await Product.get_pymongo_collection().find_one_and_update(
        {"_id": product_id},
        rating_change_pipeline(change),
        session=session,
        return_document=ReturnDocument.AFTER,
    )
    if raw is None:
        return None
    # The average before, from the histogram before, with the arithmetic that stored it.
    histogram = [now - added for now, added in zip(raw["rating_histogram"], change, strict=True)]
    average_before = rating_fields(histogram)["rating_average"]
    await count_product_changes([({**raw, "rating_average": average_before}, raw)], session=session)
    return Product.model_validate(raw)


async def verified_order_of(user_id: ObjectId, product_id: ObjectId) -> ObjectId | None:
    """The newest delivered order of `user_id` with the product in it, if any."""
    found = await Order.get_pymongo_collection().find_one(
        {"user_id": user_id, "status": OrderStatus.DELIVERED, "lines.product_id": product_id},
        projection={"_id": 1},
        sort=[("created_at", -1), ("_id", -1)],
    )
    return None if found is None else found["_id"]


async def _already_reviewed(author_id: ObjectId, product_id: ObjectId) -> ReviewError | None:
    existing = await Review.find_one({"product_id": product_id, "author_id": author_id})
    if existing is None:
        return None
    return ReviewError(
        ReviewErrorCode.ALREADY_REVIEWED,
        "You have reviewed this product already; update that review instead",
        field="productId",
        existing_review_id=existing.id,
    )


async def create_review(
    author_id: ObjectId, product_id: ObjectId, fields: ReviewFields
) -> ReviewChange:
    """A verified buyer's review of a visible product; one per buyer and product."""
    values = checked_fields(fields)
    product = await Product.get(product_id)
    if product is None or not product.is_visible:
        raise ReviewError(ReviewErrorCode.PRODUCT_NOT_FOUND, "No such product", field="productId")
    order_id = await verified_order_of(author_id, product_id)
    if order_id is None:
        raise ReviewError(
            ReviewErrorCode.NOT_A_VERIFIED_BUYER,
            "Only buyers whose order with this product was delivered may review it",
            field="productId",
        )
    if (already := await _already_reviewed(author_id, product_id)) is not None:
        raise already

    async def work(session: AsyncClientSession) -> ReviewChange:
        now = utc_now()
        hold = await ModerationHold.find_one(
            {"product_id": product_id, "author_id": author_id}, session=session
        )
        review = Review(
            product_id=PydanticObjectId(product_id),
            author_id=PydanticObjectId(author_id),
            order_id=PydanticObjectId(order_id),
            hidden=hold is not None,
            moderation=hold.moderation if hold else None,
            created_at=now,
            updated_at=now,
            **values,
        )
        await review.insert(session=session)
        return ReviewChange(None, review, await _count_change(None, review, session))

    try:
        async with product_turns([product_id]):
            return await in_transaction(work)
    except DuplicateKeyError:
        # The same buyer's other request won the race.
        if (already := await _already_reviewed(author_id, product_id)) is not None:
            raise already from None
        raise


async def _hold(review: Review, moderation: ReviewModeration, session: AsyncClientSession) -> None:
    """Remember that the author's hidden review of the product was deleted (see ModerationHold)."""
    await ModerationHold.get_pymongo_collection().update_one(
        {"product_id": review.product_id, "author_id": review.author_id},
        {"$set": {"moderation": moderation.model_dump(), "created_at": utc_now()}},
        upsert=True,
        session=session,
    )


# What `_rewrite`'s decision may say instead of the fields to set.
_DELETE: dict[str, Any] = {"$delete": True}


async def _rewrite(
    review_id: ObjectId,
    decide: Callable[[Review], dict[str, Any] | None],
    *,
    author_id: ObjectId | None = None,
) -> ReviewChange:
    """Read the review (the author's own, when `author_id` is given) in a transaction, apply what
    `decide` says (fields to set, `_DELETE`, or None for nothing) and count the difference."""
    found = await Review.get(review_id)
    if found is None or (author_id is not None and found.author_id != author_id):
        raise ReviewError(ReviewErrorCode.REVIEW_NOT_FOUND, "No such review of yours", field="id")

    async def work(session: AsyncClientSession) -> ReviewChange:
        before = await Review.get(review_id, session=session)
        if before is None:
            raise ReviewError(ReviewErrorCode.REVIEW_NOT_FOUND, "No such review", field="id")
        changes = decide(before)
        collection = Review.get_pymongo_collection()
        if changes is None:
            return ReviewChange(before, before)
        if changes is _DELETE:
            await collection.delete_one({"_id": before.id}, session=session)
            if before.moderation is not None:
                await _hold(before, before.moderation, session)
            return ReviewChange(before, None, await _count_change(before, None, session))
        changes = {**changes, "updated_at": utc_now()}
        after = before.model_copy(update=changes)
        stored = after.model_dump(include=set(changes))
        await collection.update_one({"_id": before.id}, {"$set": stored}, session=session)
        if before.hidden and not after.hidden:
            await ModerationHold.get_pymongo_collection().delete_one(
                {"product_id": after.product_id, "author_id": after.author_id}, session=session
            )
        return ReviewChange(before, after, await _count_change(before, after, session))

    async with product_turns([found.product_id]):
        return await in_transaction(work)


async def update_review(
    author_id: ObjectId, review_id: ObjectId, fields: ReviewFields
) -> ReviewChange:
    """The author changes the rating, title or body of their review; a hidden one stays hidden."""
    values = checked_fields(fields)

    def decide(review: Review) -> dict[str, Any] | None:
        changed = {name: v for name, v in values.items() if getattr(review, name) != v}
        return {**changed, "edited_at": utc_now()} if changed else None

    return await _rewrite(review_id, decide, author_id=author_id)


async def delete_review(review_id: ObjectId, *, author_id: ObjectId | None) -> ReviewChange:
    """Delete a review: the author's own, or any (`author_id` None, for moderators)."""
    return await _rewrite(review_id, lambda _: _DELETE, author_id=author_id)


async def hide_review(review_id: ObjectId, *, moderator_id: ObjectId, reason: str) -> ReviewChange:
    """Take a review out of the lists and the aggregates; hiding a hidden one updates the reason."""
    cleaned = checked_reason(reason)

    def decide(review: Review) -> dict[str, Any] | None:
        if review.moderation is not None and review.moderation.reason == cleaned:
            return None
        hidden_at = review.moderation.hidden_at if review.moderation else utc_now()
        moderation = ReviewModeration(
            hidden_at=hidden_at, reason=cleaned, hidden_by=PydanticObjectId(moderator_id)
        )
        return {"hidden": True, "moderation": moderation}

    return await _rewrite(review_id, decide)


async def unhide_review(review_id: ObjectId) -> ReviewChange:
    """Show a hidden review again, counted in the aggregates; a visible one stays as it is."""
    return await _rewrite(
        review_id, lambda review: {"hidden": False, "moderation": None} if review.hidden else None
    )
