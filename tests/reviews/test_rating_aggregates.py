"""A product's rating aggregates stay exact: imported ratings plus its visible reviews, always.

Every review write adds its difference to the product's histogram in the review's transaction;
these tests race many writes on one product and recount the aggregates from the reviews.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import httpx
import pytest
from bson import ObjectId
from starlette.applications import Starlette

from documents.accounts import Role, User
from documents.catalog import Product
from documents.common import stored_id
from documents.reviews import (
    Review,
    ReviewError,
    ReviewErrorCode,
    ReviewFields,
    create_review,
    delete_review,
    hide_review,
    unhide_review,
    update_review,
)
from documents.reviews import changes as review_changes
from documents.reviews.ratings import (
    NO_RATINGS,
    histogram_change,
    one_rating,
    rating_change_pipeline,
    rating_fields,
)
from tests.factories import global_id, make_buyer_of, make_category, make_product, make_user
from tests.support import access_token_for, graphql

IMPORTED = [3, 1, 4, 1, 5]
RATING_FIELDS = ("rating_histogram", "rating_count", "rating_sum", "rating_average")


@pytest.fixture
def reviews_as_if_in_separate_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Review writes of one process take turns per product; without that, as between worker
    processes, MongoDB's write conflicts alone must keep the aggregates exact."""

    @contextlib.asynccontextmanager
    async def no_turns(product_ids: object) -> AsyncIterator[None]:
        yield

    monkeypatch.setattr(review_changes, "product_turns", no_turns)


def added(*histograms: list[int]) -> list[int]:
    return [sum(counts) for counts in zip(*histograms, strict=True)]


async def stored_ratings(product_id: ObjectId) -> dict[str, Any]:
    raw = await Product.get_pymongo_collection().find_one({"_id": product_id})
    assert raw is not None
    return {name: raw[name] for name in RATING_FIELDS}


async def recounted_ratings(product_id: ObjectId) -> dict[str, Any]:
    """The aggregates as they must be: the imported ratings plus every visible review's."""
    raw = await Product.get_pymongo_collection().find_one({"_id": product_id})
    assert raw is not None
    histogram = list(raw.get("imported_rating_histogram") or NO_RATINGS)
    async for review in Review.get_pymongo_collection().find({"product_id": product_id}):
        if not review["hidden"]:
            histogram[review["rating"] - 1] += 1
    return rating_fields(histogram)


def review_fields(rating: int) -> ReviewFields:
    return ReviewFields(rating=rating, title=f"{rating} stars", body="Used it for a month.")


# --- ratings.py: the arithmetic ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("histogram", "expected"),
    [
        (
            [0, 0, 0, 0, 0],
            {"rating_count": 0, "rating_sum": 0, "rating_average": 0.0},
        ),
        (
            [0, 0, 0, 0, 1],
            {"rating_count": 1, "rating_sum": 5, "rating_average": 5.0},
        ),
        (
            [1, 0, 0, 0, 2],
            {"rating_count": 3, "rating_sum": 11, "rating_average": 11 / 3},
        ),
        (
            [3, 1, 4, 1, 5],
            {"rating_count": 14, "rating_sum": 3 + 2 + 12 + 4 + 25, "rating_average": 46 / 14},
        ),
        (
            [10**12, 0, 0, 0, 10**12],
            {"rating_count": 2 * 10**12, "rating_sum": 6 * 10**12, "rating_average": 3.0},
        ),
    ],
)
def test_rating_fields_derive_count_sum_and_average_from_the_histogram(
    histogram: list[int], expected: dict[str, Any]
) -> None:
    fields = rating_fields(histogram)

    assert fields == {"rating_histogram": histogram, **expected}
    assert type(fields["rating_sum"]) is int
    assert type(fields["rating_average"]) is float


def test_rating_fields_copy_the_histogram() -> None:
    histogram = [0, 1, 0, 0, 0]

    fields = rating_fields(histogram)
    histogram[0] = 7

    assert fields["rating_histogram"] == [0, 1, 0, 0, 0]


@pytest.mark.parametrize("histogram", [[], [0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [1, 0, -1, 0, 0]])
def test_rating_fields_refuse_a_histogram_of_the_wrong_shape_or_negative(
    histogram: list[int],
) -> None:
    with pytest.raises(ValueError, match="5 counts"):
        rating_fields(histogram)


@pytest.mark.parametrize(
    ("before", "after", "change"),
    [
        (None, 4, [0, 0, 0, 1, 0]),  # a new visible review
        (4, None, [0, 0, 0, -1, 0]),  # deleted or hidden
        (1, 5, [-1, 0, 0, 0, 1]),  # its rating edited
        (3, 3, [0, 0, 0, 0, 0]),  # its text edited
        (None, None, [0, 0, 0, 0, 0]),  # a hidden review edited, deleted or hidden again
    ],
)
def test_histogram_change_is_what_a_write_adds_to_the_histogram(
    before: int | None, after: int | None, change: list[int]
) -> None:
    assert histogram_change(before, after) == change
    assert added(one_rating(before), change) == one_rating(after)


async def apply_in_mongodb(product_id: ObjectId, change: list[int]) -> dict[str, Any]:
    raw = await Product.get_pymongo_collection().find_one_and_update(
        {"_id": product_id}, rating_change_pipeline(change), return_document=True
    )
    assert raw is not None
    return {name: raw[name] for name in RATING_FIELDS}


@pytest.mark.usefixtures("app")
async def test_mongodb_applies_a_change_with_the_arithmetic_of_rating_fields() -> None:
    product = await make_product(await make_category(), ratings=IMPORTED)
    rng = random.Random(5)
    histogram = list(IMPORTED)

    # A seeded random walk of reviews coming, going and changing their stars.
    for _ in range(60):
        kind = rng.choice(["new", "gone", "edited"])
        present = [stars for stars in range(1, 6) if histogram[stars - 1] > 0]
        before = None if kind == "new" else rng.choice(present)
        after = None if kind == "gone" else rng.randint(1, 5)
        change = histogram_change(before, after)
        histogram = added(histogram, change)

        stored = await apply_in_mongodb(stored_id(product), change)

        assert stored == rating_fields(histogram), (before, after)
        assert type(stored["rating_average"]) is float
    # Every rating removed again: back to none, with an average of exactly 0.0.
    for stars, count in enumerate(list(histogram), start=1):
        for _ in range(count):
            histogram = added(histogram, histogram_change(stars, None))
            stored = await apply_in_mongodb(stored_id(product), histogram_change(stars, None))
            assert stored == rating_fields(histogram)

    assert stored == {
        "rating_histogram": [0, 0, 0, 0, 0],
        "rating_count": 0,
        "rating_sum": 0,
        "rating_average": 0.0,
    }
    assert type(stored["rating_average"]) is float


@pytest.mark.usefixtures("app")
async def test_mongodb_applies_a_multi_star_change_like_rating_fields() -> None:
    product = await make_product(await make_category(), ratings=[0, 0, 0, 0, 0])

    stored = await apply_in_mongodb(stored_id(product), [2, 0, 1, 0, 4])
    assert stored == rating_fields([2, 0, 1, 0, 4])
    assert stored["rating_average"] == 25 / 7

    stored = await apply_in_mongodb(stored_id(product), [-2, 0, -1, 0, -4])
    assert stored == rating_fields(NO_RATINGS)


@pytest.mark.usefixtures("app")
async def test_mongodb_counts_from_zero_on_a_product_stored_without_a_histogram() -> None:
    product = await make_product(await make_category())
    await Product.get_pymongo_collection().update_one(
        {"_id": product.id}, {"$unset": {name: "" for name in RATING_FIELDS}}
    )

    stored = await apply_in_mongodb(stored_id(product), histogram_change(None, 4))

    assert stored == rating_fields([0, 0, 0, 1, 0])


# --- every review write, racing on one product ------------------------------------------------


def first_rating(i: int) -> int:
    return i % 5 + 1


def edited_rating(i: int) -> int:
    """Other stars, except for one buyer in five who edits only the text."""
    return 3 if i % 5 == 2 else 5 - i % 5


def racing_writes(i: int) -> set[str]:
    """What happens to buyer i's review once written, all at the same time."""
    writes = set()
    if i % 2 == 0:
        writes.add("edit")
    if i % 7 == 0:
        writes.add("delete")
    if i % 3 == 0:
        writes.add("hide")
    elif i % 4 == 2:
        writes.add("hide, hide again, unhide")
    return writes


@pytest.mark.usefixtures("app")
@pytest.mark.parametrize(("separate_processes", "buyer_count"), [(False, 100), (True, 30)])
async def test_buyers_racing_with_edits_deletions_and_moderation_keep_the_aggregates_exact(
    separate_processes: bool, buyer_count: int, request: pytest.FixtureRequest
) -> None:
    """100 buyers review at once, and each review is edited, deleted or moderated while the
    others are written. Without turns every write on the product conflicts and retries with a
    backoff, so 30 buyers show the same races in a fraction of the time."""
    if separate_processes:
        request.getfixturevalue("reviews_as_if_in_separate_processes")
    product = await make_product(await make_category(), ratings=IMPORTED)
    product_id = stored_id(product)
    buyers = [await make_buyer_of(product) for _ in range(buyer_count)]
    moderator_id = stored_id(await make_user(role=Role.ADMIN))
    refused: list[ReviewError] = []

    async def hide_then_unhide(review_id: ObjectId) -> None:
        await hide_review(review_id, moderator_id=moderator_id, reason="Spoilers")
        await hide_review(review_id, moderator_id=moderator_id, reason="Spoilers, again")
        await unhide_review(review_id)

    def write(name: str, author_id: ObjectId, review_id: ObjectId, i: int) -> Awaitable[object]:
        if name == "edit":
            return update_review(author_id, review_id, review_fields(edited_rating(i)))
        if name == "delete":
            return delete_review(review_id, author_id=author_id)
        if name == "hide":
            return hide_review(review_id, moderator_id=moderator_id, reason="Rude")
        return hide_then_unhide(review_id)

    async def unless_deleted(written: Awaitable[object]) -> None:
        try:
            await written
        except ReviewError as error:
            refused.append(error)

    async def story(i: int, buyer: User) -> None:
        author_id = stored_id(buyer)
        change = await create_review(author_id, product_id, review_fields(first_rating(i)))
        review_id = stored_id(change.review)
        writes = [write(name, author_id, review_id, i) for name in sorted(racing_writes(i))]
        await asyncio.gather(*(unless_deleted(written) for written in writes))

    await asyncio.gather(*(story(i, buyer) for i, buyer in enumerate(buyers)))

    # Only a write that came after its review's deletion may have been refused.
    assert {error.code for error in refused} <= {ReviewErrorCode.REVIEW_NOT_FOUND}
    deleted = [i for i in range(buyer_count) if "delete" in racing_writes(i)]
    assert len(refused) <= sum(len(racing_writes(i)) - 1 for i in deleted)
    # Which write came first differs between runs; what each review ends as does not.
    kept = [i for i in range(buyer_count) if i not in deleted]
    hidden = [i for i in kept if "hide" in racing_writes(i)]
    expected = list(IMPORTED)
    for i in kept:
        if i not in hidden:
            expected[(edited_rating(i) if "edit" in racing_writes(i) else first_rating(i)) - 1] += 1
    assert await Review.find({"product_id": product_id}).count() == len(kept)
    assert await Review.find({"product_id": product_id, "hidden": True}).count() == len(hidden)
    assert await stored_ratings(product_id) == await recounted_ratings(product_id)
    assert await stored_ratings(product_id) == rating_fields(expected)


@pytest.mark.usefixtures("app")
@pytest.mark.parametrize("separate_processes", [False, True])
async def test_one_buyer_racing_to_review_twice_is_counted_once(
    separate_processes: bool, request: pytest.FixtureRequest
) -> None:
    if separate_processes:
        request.getfixturevalue("reviews_as_if_in_separate_processes")
    product = await make_product(await make_category(), ratings=IMPORTED)
    buyer = await make_buyer_of(product)

    results = await asyncio.gather(
        *(
            create_review(stored_id(buyer), stored_id(product), review_fields(stars))
            for stars in (1, 2, 3, 4, 5, 1, 2, 3, 4, 5)
        ),
        return_exceptions=True,
    )

    written = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(written) == 1
    assert len(refused) == 9
    review = written[0].review
    assert all(
        isinstance(r, ReviewError)
        and r.code is ReviewErrorCode.ALREADY_REVIEWED
        and r.existing_review_id == review.id
        for r in refused
    ), refused
    assert await Review.find({"product_id": product.id}).count() == 1
    assert await stored_ratings(stored_id(product)) == rating_fields(
        added(IMPORTED, one_rating(review.rating))
    )


CREATE_REVIEW = """
mutation Create($input: CreateReviewInput!) {
  createReview(input: $input) {
    review { id rating }
    errors { field code existingReviewId }
  }
}
"""


async def test_concurrent_create_review_calls_of_one_buyer_leave_one_review(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    product = await make_product(await make_category(), ratings=IMPORTED)
    buyer = await make_buyer_of(product)
    token = await access_token_for(app, buyer)

    async def create(stars: int) -> dict[str, Any]:
        variables = {
            "input": {"productId": global_id(product), "rating": stars, "title": "Mine"},
        }
        body = await graphql(client, CREATE_REVIEW, variables, token=token)
        payload: dict[str, Any] = body["data"]["createReview"]
        return payload

    payloads = await asyncio.gather(*(create(stars) for stars in (5, 4, 3, 2, 1, 5, 4, 3)))

    created = [p for p in payloads if p["review"] is not None]
    assert len(created) == 1
    assert created[0]["errors"] == []
    refused = [p for p in payloads if p["review"] is None]
    assert [p["errors"] for p in refused] == [
        [
            {
                "field": "productId",
                "code": "ALREADY_REVIEWED",
                "existingReviewId": created[0]["review"]["id"],
            }
        ]
    ] * 7
    assert await Review.find({"product_id": product.id}).count() == 1
    assert await stored_ratings(stored_id(product)) == rating_fields(
        added(IMPORTED, one_rating(created[0]["review"]["rating"]))
    )


# --- each kind of write, one at a time ----------------------------------------------------------


@pytest.mark.usefixtures("app")
async def test_each_write_moves_the_aggregates_by_exactly_its_own_difference() -> None:
    product = await make_product(await make_category(), ratings=IMPORTED)
    product_id = stored_id(product)
    buyer = await make_buyer_of(product)
    admin = await make_user(role=Role.ADMIN)
    author_id, moderator_id = stored_id(buyer), stored_id(admin)

    async def ratings_after(write: Awaitable[object]) -> list[int]:
        await write
        stored = await stored_ratings(product_id)
        assert stored == await recounted_ratings(product_id)
        histogram: list[int] = stored["rating_histogram"]
        return histogram

    change = await create_review(author_id, product_id, review_fields(2))
    review_id = stored_id(change.review)
    assert change.product is not None
    assert change.product.rating_histogram == added(IMPORTED, [0, 1, 0, 0, 0])
    assert await ratings_after(update_review(author_id, review_id, review_fields(5))) == added(
        IMPORTED, [0, 0, 0, 0, 1]
    )
    assert await ratings_after(
        update_review(author_id, review_id, ReviewFields(body="Still fine."))
    ) == added(IMPORTED, [0, 0, 0, 0, 1])
    assert (
        await ratings_after(hide_review(review_id, moderator_id=moderator_id, reason="Off topic"))
        == IMPORTED
    )
    # Edited while hidden: it still does not count, and counts with its new stars once shown.
    assert await ratings_after(update_review(author_id, review_id, review_fields(1))) == IMPORTED
    assert await ratings_after(unhide_review(review_id)) == added(IMPORTED, [1, 0, 0, 0, 0])
    assert await ratings_after(unhide_review(review_id)) == added(IMPORTED, [1, 0, 0, 0, 0])
    assert await ratings_after(delete_review(review_id, author_id=author_id)) == IMPORTED
