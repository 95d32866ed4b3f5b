"""Reviews in the API: the `Review` type, its mutations, and the admins' moderation list."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from bson import ObjectId
from strawberry import relay

from documents import reviews as documents
from documents.reviews import (
    MAX_BODY_LENGTH,
    MAX_REASON_LENGTH,
    MAX_TITLE_LENGTH,
    ReviewErrorCode,
    ReviewFields,
)
from resolvers import catalog, reviews
from resolvers.pagination import PageArgs
from schema.accounts import User
from schema.catalog import Product
from schema.common import maybe_value
from schema.enums import described_enum
from schema.ids import decode_global_id
from schema.info import Info
from schema.pagination import AfterArg, BeforeArg, CountedConnection, FirstArg, LastArg
from schema.payloads import user_errors
from schema.permissions import IsAdmin, IsAuthenticated

described_enum(
    ReviewErrorCode,
    "Why a review operation failed.",
    {
        "PRODUCT_NOT_FOUND": "No product has that ID.",
        "NOT_A_VERIFIED_BUYER": (
            "Only a buyer whose order with the product was delivered may review it."
        ),
        "ALREADY_REVIEWED": "The user has reviewed this product already: update that review.",
        "REVIEW_NOT_FOUND": "No review (of the user's own, for its author) has that ID.",
        "INVALID_RATING": "The rating is not 1 to 5 stars.",
        "INVALID_TITLE": (
            f"The title is empty, longer than {MAX_TITLE_LENGTH} characters, or has control "
            "characters."
        ),
        "INVALID_BODY": (
            f"The text is longer than {MAX_BODY_LENGTH} characters, or has control characters "
            "other than line breaks and tabs."
        ),
        "INVALID_REASON": f"The moderation reason is empty or over {MAX_REASON_LENGTH} characters.",
    },
)


@strawberry.type(description="A problem with a review mutation, fixable by the user.")
class ReviewError:
    field: str | None = strawberry.field(description="The input field at fault, if one is.")
    code: ReviewErrorCode = strawberry.field(description="Stable code to branch on.")
    message: str = strawberry.field(description="Human-readable explanation.")
    existing_review_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="With ALREADY_REVIEWED: the review you wrote before, to update instead.",
    )

    @classmethod
    def from_domain(cls, error: Any) -> ReviewError:
        existing = getattr(error, "existing_review_id", None)
        return cls(
            field=error.field,
            code=error.code,
            message=error.message,
            existing_review_id=_global_id(existing) if existing else None,
        )


def _global_id(review_id: object) -> strawberry.ID:
    return strawberry.ID(str(relay.GlobalID("Review", str(review_id))))


@strawberry.type(description="Why a review is hidden; shown to its author and to admins only.")
class ReviewModeration:
    hidden_at: datetime = strawberry.field(description="When it was hidden (UTC).")
    reason: str = strawberry.field(description="The moderator's reason.")


@strawberry.type(description="A buyer's review of a product.")
class Review(relay.Node):
    id: relay.NodeID[str]
    rating: int = strawberry.field(description="Stars, 1 to 5.")
    title: str = strawberry.field(description="Headline (plain text).")
    body: str = strawberry.field(
        description="The review (plain text; line breaks as \\n). Escape it when rendering."
    )
    verified_purchase: bool = strawberry.field(
        description="Whether its author received the product in an order from this shop."
    )
    hidden: bool = strawberry.field(
        description="Hidden by a moderator: out of the product's lists and ratings. Only its "
        "author and admins see hidden reviews."
    )
    created_at: datetime = strawberry.field(description="When it was written (UTC).")
    updated_at: datetime = strawberry.field(description="When it last changed (UTC).")
    edited_at: datetime | None = strawberry.field(
        description="When its author last changed it; null if never."
    )
    _document: strawberry.Private[documents.Review]

    @classmethod
    def from_document(cls, review: documents.Review) -> Review:
        return cls(
            id=str(review.id),
            rating=review.rating,
            title=review.title,
            body=review.body,
            verified_purchase=review.verified_purchase,
            hidden=review.hidden,
            created_at=review.created_at,
            updated_at=review.updated_at,
            edited_at=review.edited_at,
            _document=review,
        )

    @strawberry.field(description="Its author's display name (never their email).")
    async def author_name(self, info: Info) -> str:
        return await reviews.author_name(info.context, self._document)

    @strawberry.field(description="The author (admins only).", permission_classes=[IsAdmin])
    async def author(self, info: Info) -> User | None:
        found = await info.context.loaders.user_by_id.load(self._document.author_id)
        return User.from_document(found) if found else None

    @strawberry.field(description="The product reviewed; null if it left the storefront.")
    async def product(self, info: Info) -> Product | None:
        found = await catalog.product(info.context, product_id=self._document.product_id)
        return Product.from_document(found) if found else None

    @strawberry.field(
        description="Why it is hidden; null when visible, or for anyone but its author and admins."
    )
    async def moderation(self, info: Info) -> ReviewModeration | None:
        moderation = self._document.moderation
        if moderation is None or not await reviews.may_see_moderation(info.context, self._document):
            return None
        return ReviewModeration(hidden_at=moderation.hidden_at, reason=moderation.reason)


@strawberry.type(name="ReviewConnection", description="A page of reviews.")
class ReviewConnection(CountedConnection[Review]):
    pass


@strawberry.input(description="A review of a product you bought and received.")
class CreateReviewInput:
    product_id: strawberry.ID = strawberry.field(description="The product.")
    rating: int = strawberry.field(description="Stars, 1 to 5.")
    title: str = strawberry.field(
        description=f"Headline: 1 to {documents.MAX_TITLE_LENGTH} characters of plain text."
    )
    body: str = strawberry.field(
        default="",
        description=f"The review: up to {documents.MAX_BODY_LENGTH} characters of plain text; "
        "line breaks and tabs (as spaces) allowed, other control characters refused.",
    )


@strawberry.input(description="Changes to your review; omitted fields stay as they are.")
class UpdateReviewInput:
    id: strawberry.ID = strawberry.field(description="The review.")
    rating: strawberry.Maybe[int | None] = strawberry.field(
        description="Stars, 1 to 5; null is refused."
    )
    title: strawberry.Maybe[str | None] = strawberry.field(description="Headline; null is refused.")
    body: strawberry.Maybe[str | None] = strawberry.field(
        description="The review; null or an empty string clears it."
    )


@strawberry.input(description="A review to hide, and why.")
class HideReviewInput:
    id: strawberry.ID = strawberry.field(description="The review.")
    reason: str = strawberry.field(
        description=f"Why, for its author: 1 to {documents.MAX_REASON_LENGTH} characters."
    )


@strawberry.type(description="Result of a mutation that writes a review.")
class ReviewPayload:
    review: Review | None = strawberry.field(default=None, description="The review after it.")
    errors: list[ReviewError] = strawberry.field(
        default_factory=list, description="Empty on success."
    )

    @classmethod
    def of(cls, change: documents.ReviewChange) -> Any:
        return cls(review=Review.from_document(change.after) if change.after else None)


@strawberry.type(description="Result of `createReview`.")
class CreateReviewPayload(ReviewPayload):
    pass


@strawberry.type(description="Result of `updateReview`.")
class UpdateReviewPayload(ReviewPayload):
    pass


@strawberry.type(description="Result of `hideReview`.")
class HideReviewPayload(ReviewPayload):
    pass


@strawberry.type(description="Result of `unhideReview`.")
class UnhideReviewPayload(ReviewPayload):
    pass


@strawberry.type(description="Result of `deleteReview`.")
class DeleteReviewPayload:
    deleted_id: strawberry.ID | None = strawberry.field(default=None, description="The deleted ID.")
    product: Product | None = strawberry.field(
        default=None, description="The product reviewed, with its ratings after the deletion."
    )
    errors: list[ReviewError] = strawberry.field(
        default_factory=list, description="Empty on success."
    )


ReviewIdArg = Annotated[strawberry.ID, strawberry.argument(description="The review.")]


def _object_id(value: str, type_name: str, field: str) -> ObjectId:
    object_id = decode_global_id(value, type_name, field=field)
    assert object_id is not None
    return object_id


def _review_id(value: str) -> ObjectId:
    return _object_id(value, "Review", "id")


@strawberry.type
class ReviewMutation:
    @strawberry.mutation(
        description="Review a product you received in a delivered order; one review per product.",
        permission_classes=[IsAuthenticated],
    )
    @user_errors(CreateReviewPayload, ReviewError)
    async def create_review(self, info: Info, input: CreateReviewInput) -> CreateReviewPayload:
        product_id = _object_id(input.product_id, "Product", "productId")
        fields = ReviewFields(rating=input.rating, title=input.title, body=input.body)
        change = await reviews.create_review(info.context, product_id, fields)
        return CreateReviewPayload.of(change)

    @strawberry.mutation(
        description="Change your review's rating or text.", permission_classes=[IsAuthenticated]
    )
    @user_errors(UpdateReviewPayload, ReviewError)
    async def update_review(self, info: Info, input: UpdateReviewInput) -> UpdateReviewPayload:
        fields = ReviewFields(
            rating=maybe_value(input.rating),
            title=maybe_value(input.title),
            body=maybe_value(input.body),
        )
        change = await reviews.update_review(info.context, _review_id(input.id), fields)
        return UpdateReviewPayload.of(change)

    @strawberry.mutation(
        description="Delete your review; admins may delete any.",
        permission_classes=[IsAuthenticated],
    )
    @user_errors(DeleteReviewPayload, ReviewError)
    async def delete_review(self, info: Info, id: ReviewIdArg) -> DeleteReviewPayload:
        change = await reviews.delete_review(info.context, _review_id(id))
        product = await catalog.product(info.context, product_id=change.review.product_id)
        return DeleteReviewPayload(
            deleted_id=_global_id(change.review.id),
            product=Product.from_document(product) if product else None,
        )

    @strawberry.mutation(
        description="Hide a review from the storefront and its product's ratings (admins only).",
        permission_classes=[IsAdmin],
    )
    @user_errors(HideReviewPayload, ReviewError)
    async def hide_review(self, info: Info, input: HideReviewInput) -> HideReviewPayload:
        change = await reviews.hide_review(info.context, _review_id(input.id), input.reason)
        return HideReviewPayload.of(change)

    @strawberry.mutation(
        description="Show a hidden review again (admins only).", permission_classes=[IsAdmin]
    )
    @user_errors(UnhideReviewPayload, ReviewError)
    async def unhide_review(self, info: Info, id: ReviewIdArg) -> UnhideReviewPayload:
        change = await reviews.unhide_review(info.context, _review_id(id))
        return UnhideReviewPayload.of(change)


@strawberry.input(description="Filters of the moderation list.")
class ReviewFilter:
    product_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only this product's reviews."
    )
    hidden: bool | None = strawberry.field(
        default=None, description="Only hidden (true) or only visible (false) reviews."
    )


@strawberry.type
class ReviewQuery:
    @strawberry.field(
        description="Every review, newest first, hidden ones too (admins only).",
        permission_classes=[IsAdmin],
    )
    async def reviews(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
        filter: Annotated[ReviewFilter | None, strawberry.argument(description="Filters.")] = None,
    ) -> ReviewConnection:
        given = filter or ReviewFilter()
        page = await reviews.moderation_list(
            info.context,
            page=PageArgs(first=first, after=after, last=last, before=before),
            review_filter=reviews.ReviewFilter(
                product_id=decode_global_id(given.product_id, "Product", field="filter.productId"),
                hidden=given.hidden,
            ),
        )
        return ReviewConnection.from_page(page, Review.from_document)
