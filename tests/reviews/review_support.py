"""What the review tests share: the mutations as a client sends them, and reads of what MongoDB
holds to compare with."""

from __future__ import annotations

from typing import Any

import httpx
from bson import ObjectId
from strawberry import relay

from documents.catalog import Category, Product
from documents.reviews import Review
from tests.factories import (
    global_id,
    make_category,
)
from tests.support import graphql

REVIEW_FIELDS = """
id rating title body authorName verifiedPurchase hidden createdAt updatedAt editedAt
moderation { reason }
product { id ratingCount ratingAverage ratingHistogram { stars count } }
"""
CREATE_REVIEW = f"""
mutation CreateReview($input: CreateReviewInput!) {{
  createReview(input: $input) {{
    review {{ {REVIEW_FIELDS} }}
    errors {{ field code message existingReviewId }}
  }}
}}
"""
UPDATE_REVIEW = f"""
mutation UpdateReview($input: UpdateReviewInput!) {{
  updateReview(input: $input) {{
    review {{ {REVIEW_FIELDS} }}
    errors {{ field code message existingReviewId }}
  }}
}}
"""
DELETE_REVIEW = """
mutation DeleteReview($id: ID!) {
  deleteReview(id: $id) {
    deletedId
    product { id ratingCount ratingAverage ratingHistogram { stars count } }
    errors { field code message existingReviewId }
  }
}
"""
# What the storefront shows of a product's ratings and reviews (cached for anonymous callers).
PRODUCT_RATINGS = """
query ProductRatings($id: ID!) {
  product(id: $id) {
    ratingCount ratingAverage ratingHistogram { stars count }
    reviews(first: 10) { totalCount edges { node { id rating title } } }
  }
}
"""


def buckets(histogram: list[int]) -> list[dict[str, int]]:
    """A histogram (count per star, 1 to 5) as the API shows it: 5 stars first."""
    return [{"stars": stars, "count": histogram[stars - 1]} for stars in range(5, 0, -1)]


async def stored_reviews() -> list[dict[str, Any]]:
    return await Review.get_pymongo_collection().find({}, sort=[("_id", 1)]).to_list()


async def stored_product(product: Product) -> dict[str, Any]:
    raw = await Product.get_pymongo_collection().find_one({"_id": product.id})
    assert raw is not None
    return raw


async def stored_ratings(product: Product) -> tuple[list[int], int, int, float]:
    """The product's stored histogram, count, sum of stars and average."""
    raw = await stored_product(product)
    return raw["rating_histogram"], raw["rating_count"], raw["rating_sum"], raw["rating_average"]


async def recounted_histogram(product: Product) -> list[int]:
    """The product's imported ratings plus its visible reviews, counted from the reviews."""
    histogram = list((await stored_product(product)).get("imported_rating_histogram") or [0] * 5)
    visible = Review.get_pymongo_collection().find({"product_id": product.id, "hidden": False})
    async for review in visible:
        histogram[review["rating"] - 1] += 1
    return histogram


async def stored_state(product: Product) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every review and the product, to compare before and after a refused change."""
    return await stored_reviews(), await stored_product(product)


async def shop() -> Category:
    return await make_category("Shoes")


async def create(
    client: httpx.AsyncClient, token: str | None, product: Product | str, **fields: Any
) -> dict[str, Any]:
    product_id = product if isinstance(product, str) else global_id(product)
    review_input = {"productId": product_id, "rating": 5, "title": "Comfortable", **fields}
    return await graphql(client, CREATE_REVIEW, {"input": review_input}, token=token)


def missing_id(type_name: str) -> str:
    return str(relay.GlobalID(type_name, str(ObjectId())))


async def update(
    client: httpx.AsyncClient, token: str | None, review: Review | str, **fields: Any
) -> dict[str, Any]:
    review_id = review if isinstance(review, str) else global_id(review)
    return await graphql(client, UPDATE_REVIEW, {"input": {"id": review_id, **fields}}, token=token)


async def delete(client: httpx.AsyncClient, token: str, review: Review | str) -> dict[str, Any]:
    review_id = review if isinstance(review, str) else global_id(review)
    return await graphql(client, DELETE_REVIEW, {"id": review_id}, token=token)
