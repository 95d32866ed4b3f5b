"""Reviews: a product's page of them and its ratings, the viewer's own, and every write.

Writes are the domain's (`documents/reviews`); here they get their caller checked and rate-limited,
and after each the cached results that show the review or its product's ratings are retired.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from bson import ObjectId

from documents import reviews
from documents.accounts import Role
from documents.catalog import Product
from documents.common import stored_id
from documents.reviews import Review, ReviewChange, ReviewFields
from resolvers.accounts.viewer import private_viewer, require_admin, require_viewer
from resolvers.context import Context
from resolvers.pagination import Ordering, Page, PageArgs, find_page

FORMER_CUSTOMER = "Former customer"


class ReviewSort:
    """The orders a product's reviews can be listed in; newest first among equal ratings."""

    NEWEST = Ordering("review_newest", "created_at", -1, datetime)
    HIGHEST = Ordering("review_highest", "rating", -1, int)
    LOWEST = Ordering("review_lowest", "rating", 1, int, tie_direction=-1)


@dataclass(frozen=True)
class ReviewFilter:
    """The moderation list's filters; ids already decoded."""

    product_id: ObjectId | None = None
    hidden: bool | None = None


def product_ratings(ctx: Context, product: Product) -> Product:
    """The product, for showing its rating aggregates: the cached result now depends on them."""
    ctx.cache_dependencies.product_ratings(product.id)
    return product


async def product_reviews(
    ctx: Context, product: Product, *, page: PageArgs, ordering: Ordering
) -> Page[Review]:
    """A page of the product's visible reviews."""
    page = page.validated()
    ctx.cache_dependencies.product_reviews(product.id)
    conditions = [{"product_id": product.id, "hidden": False}]
    found = await find_page(
        ctx.loaders.review_pipelines.load, conditions, ordering, page, Review.model_validate
    )
    imported = sum(product.imported_rating_histogram or [])

    async def visible_count() -> int:
        # Exact by the aggregates' invariant: every counted rating not imported is a visible review.
        return product.rating_count - imported

    return dataclasses.replace(found, count=visible_count)


async def reviews_of_user(ctx: Context, user_id: ObjectId, *, page: PageArgs) -> Page[Review]:
    """A user's reviews, hidden ones too, newest first: for the user and for admins only (anyone
    else gets an empty page)."""
    page = page.validated()
    viewer = await private_viewer(ctx)
    if viewer is None or (viewer.user.id != user_id and viewer.user.role is not Role.ADMIN):
        return Page(rows=[], has_next_page=False, has_previous_page=False, count=_none)
    conditions = [{"author_id": user_id}]
    return await find_page(
        ctx.loaders.review_pipelines.load,
        conditions,
        ReviewSort.NEWEST,
        page,
        Review.model_validate,
    )


async def _none() -> int:
    return 0


async def moderation_list(
    ctx: Context, *, page: PageArgs, review_filter: ReviewFilter
) -> Page[Review]:
    """Every review, or a product's, or only the hidden (or visible) ones, newest first."""
    page = page.validated()
    await require_admin(ctx)
    hidden = [False, True] if review_filter.hidden is None else [review_filter.hidden]
    conditions: list[dict[str, object]] = [{"hidden": {"$in": hidden}}]
    if review_filter.product_id is not None:
        conditions.append({"product_id": review_filter.product_id})
    return await find_page(
        ctx.loaders.review_pipelines.load,
        conditions,
        ReviewSort.NEWEST,
        page,
        Review.model_validate,
    )


async def review(ctx: Context, review_id: ObjectId) -> Review | None:
    """A review by id: a visible one for anyone; a hidden one for its author and admins."""
    found: Review | None = await ctx.loaders.review_by_id.load(review_id)
    if found is None or not found.hidden:
        return found
    return found if await may_see_moderation(ctx, found) else None


async def may_see_moderation(ctx: Context, found: Review) -> bool:
    """Whether the viewer may see that (and why) the review is hidden: its author or an admin."""
    viewer = await private_viewer(ctx)
    if viewer is None:
        return False
    return viewer.user.id == found.author_id or viewer.user.role is Role.ADMIN


async def author_name(ctx: Context, found: Review) -> str:
    """The name the review is signed with: its author's display name, never their email."""
    author = await ctx.loaders.user_by_id.load(found.author_id)
    return author.name if author is not None and author.name else FORMER_CUSTOMER


async def create_review(ctx: Context, product_id: ObjectId, fields: ReviewFields) -> ReviewChange:
    """The viewer reviews a product they bought and received."""
    author_id = await _writer(ctx)
    change = await reviews.create_review(author_id, product_id, fields)
    return await _written(ctx, change)


async def update_review(ctx: Context, review_id: ObjectId, fields: ReviewFields) -> ReviewChange:
    """The viewer changes their own review."""
    author_id = await _writer(ctx)
    change = await reviews.update_review(author_id, review_id, fields)
    return await _written(ctx, change)


async def delete_review(ctx: Context, review_id: ObjectId) -> ReviewChange:
    """The viewer deletes their own review; an admin deletes any."""
    viewer = await require_viewer(ctx)
    is_admin = viewer.user.role is Role.ADMIN
    author_id = None if is_admin else await _writer(ctx)
    change = await reviews.delete_review(review_id, author_id=author_id)
    return await _written(ctx, change)


async def hide_review(ctx: Context, review_id: ObjectId, reason: str) -> ReviewChange:
    """An admin hides a review, with the reason its author will see."""
    moderator = await require_admin(ctx)
    change = await reviews.hide_review(
        review_id, moderator_id=stored_id(moderator.user), reason=reason
    )
    return await _written(ctx, change)


async def unhide_review(ctx: Context, review_id: ObjectId) -> ReviewChange:
    """An admin shows a hidden review again."""
    await require_admin(ctx)
    return await _written(ctx, await reviews.unhide_review(review_id))


async def _writer(ctx: Context) -> ObjectId:
    """The signed-in viewer, within their allowance of review writes."""
    viewer = await require_viewer(ctx)
    user_id = stored_id(viewer.user)
    await ctx.services.rate_limiter.check("write_review", ip=ctx.client_ip, account=str(user_id))
    return user_id


async def _written(ctx: Context, change: ReviewChange) -> ReviewChange:
    """Retire the cached results the change affects; later fields of this request see it."""
    await ctx.query_cache.review_changed(change)
    written = change.review
    ctx.loaders.review_by_id.clear(written.id)
    if change.after is not None:
        ctx.loaders.review_by_id.prime(written.id, change.after)
    ctx.loaders.product_by_id.clear(written.product_id)
    if change.product is not None:
        ctx.loaders.product_by_id.prime(written.product_id, change.product)
    return change
