"""`updateReview` and `deleteReview`: the author's own review only (admins may delete any), and
the product's ratings kept exact."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from documents.accounts import Role
from documents.common import stored_id
from documents.orders import OrderStatus
from documents.reviews import Review, hide_review
from tests.factories import (
    global_id,
    make_buyer_of,
    make_order,
    make_product,
    make_review,
    make_user,
)
from tests.reviews.review_support import (
    DELETE_REVIEW,
    PRODUCT_RATINGS,
    buckets,
    create,
    delete,
    missing_id,
    recounted_histogram,
    shop,
    stored_product,
    stored_ratings,
    stored_reviews,
    stored_state,
    update,
)
from tests.support import access_token_for, error_codes, graphql, payload_errors

# --- updateReview ------------------------------------------------------------------------------


async def test_a_new_rating_moves_the_review_between_stars(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    runner = await make_product(await shop(), ratings=[1, 0, 0, 0, 0])
    author = await make_user(name="Asha Rao")
    await make_order(author, (runner, 1), status=OrderStatus.DELIVERED)
    review = await make_review(runner, author, rating=5, title="Great", body="Light.")
    assert await stored_ratings(runner) == ([1, 0, 0, 0, 1], 2, 6, 3.0)
    seen = await graphql(client, PRODUCT_RATINGS, {"id": global_id(runner)})

    body = await update(client, await access_token_for(app, author), review, rating=2)

    payload = body["data"]["updateReview"]
    assert payload["errors"] == []
    edited = payload["review"]
    assert (edited["id"], edited["rating"], edited["title"], edited["body"]) == (
        global_id(review),
        2,
        "Great",
        "Light.",
    )
    assert edited["editedAt"] is not None
    assert edited["product"]["ratingHistogram"] == buckets([1, 1, 0, 0, 0])
    assert (edited["product"]["ratingCount"], edited["product"]["ratingAverage"]) == (2, 1.5)
    assert await stored_ratings(runner) == ([1, 1, 0, 0, 0], 2, 3, 1.5)
    assert await recounted_histogram(runner) == [1, 1, 0, 0, 0]
    [stored] = await stored_reviews()
    assert stored["rating"] == 2
    assert stored["created_at"] <= stored["edited_at"] <= stored["updated_at"]
    assert seen["data"]["product"]["ratingAverage"] == 3.0
    now = (await graphql(client, PRODUCT_RATINGS, {"id": global_id(runner)}))["data"]["product"]
    assert (now["ratingCount"], now["ratingAverage"]) == (2, 1.5)
    assert now["reviews"]["edges"][0]["node"]["rating"] == 2


async def test_a_text_change_leaves_the_ratings_alone(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    runner = await make_product(await shop(), ratings=[0, 1, 0, 0, 0])
    author = await make_buyer_of(runner)
    review = await make_review(runner, author, rating=4, title="Good", body="Fine.")
    product_before = await stored_product(runner)

    body = await update(
        client,
        await access_token_for(app, author),
        review,
        title=" Very  good ",
        body="Fine.\r\nStill fine after a month.",
    )

    edited = body["data"]["updateReview"]["review"]
    assert body["data"]["updateReview"]["errors"] == []
    assert (edited["rating"], edited["title"]) == (4, "Very good")
    assert edited["body"] == "Fine.\nStill fine after a month."
    assert edited["editedAt"] is not None
    assert await stored_product(runner) == product_before
    [stored] = await stored_reviews()
    assert (stored["title"], stored["body"]) == ("Very good", "Fine.\nStill fine after a month.")


async def test_an_update_that_changes_nothing_is_not_an_edit(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    runner = await make_product(await shop())
    author = await make_buyer_of(runner)
    review = await make_review(runner, author, rating=4, title="Good", body="Fine.")
    before = await stored_state(runner)

    body = await update(client, await access_token_for(app, author), review, rating=4, title="Good")

    assert body["data"]["updateReview"]["errors"] == []
    assert body["data"]["updateReview"]["review"]["editedAt"] is None
    assert await stored_state(runner) == before


async def test_nobody_else_may_update_a_review(app: Starlette, client: httpx.AsyncClient) -> None:
    runner = await make_product(await shop())
    review = await make_review(runner, rating=5)
    other_buyer = await make_buyer_of(runner)  # a verified buyer too, but not the author
    before = await stored_state(runner)

    body = await update(
        client, await access_token_for(app, other_buyer), review, rating=1, title="Bad"
    )

    assert payload_errors(body, "updateReview") == [("id", "REVIEW_NOT_FOUND")]
    assert body["data"]["updateReview"]["review"] is None
    assert await stored_state(runner) == before


async def test_an_admin_may_not_edit_someone_elses_review(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    runner = await make_product(await shop())
    review = await make_review(runner, rating=5)
    admin = await make_user(role=Role.ADMIN)
    before = await stored_state(runner)

    body = await update(client, await access_token_for(app, admin), review, rating=1)

    assert payload_errors(body, "updateReview") == [("id", "REVIEW_NOT_FOUND")]
    assert await stored_state(runner) == before


async def test_an_unknown_review_cannot_be_updated(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    author = await make_user()

    body = await update(client, await access_token_for(app, author), missing_id("Review"), rating=3)

    assert payload_errors(body, "updateReview") == [("id", "REVIEW_NOT_FOUND")]
    assert await stored_reviews() == []


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"rating": 0}, [("rating", "INVALID_RATING")]),
        ({"rating": 6}, [("rating", "INVALID_RATING")]),
        ({"rating": None}, [("rating", "INVALID_RATING")]),
        ({"title": None}, [("title", "INVALID_TITLE")]),
        ({"title": "   "}, [("title", "INVALID_TITLE")]),
        ({"title": "t" * 121}, [("title", "INVALID_TITLE")]),
        ({"title": "Bad\x07"}, [("title", "INVALID_TITLE")]),
        ({"body": "b" * 5001}, [("body", "INVALID_BODY")]),
        ({"body": "Bad\x00"}, [("body", "INVALID_BODY")]),
        (
            {"rating": 2, "title": "", "body": "\x1b"},
            [("title", "INVALID_TITLE"), ("body", "INVALID_BODY")],
        ),
    ],
)
async def test_invalid_changes_are_refused_together_and_change_nothing(
    app: Starlette,
    client: httpx.AsyncClient,
    fields: dict[str, Any],
    expected: list[tuple[str, str]],
) -> None:
    runner = await make_product(await shop())
    author = await make_buyer_of(runner)
    review = await make_review(runner, author, rating=5)
    before = await stored_state(runner)

    body = await update(client, await access_token_for(app, author), review, **fields)

    assert payload_errors(body, "updateReview") == expected
    assert body["data"]["updateReview"]["review"] is None
    assert await stored_state(runner) == before


async def test_a_hidden_review_stays_hidden_and_uncounted_when_its_author_edits_it(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    runner = await make_product(await shop(), ratings=[0, 0, 1, 0, 0])
    author = await make_buyer_of(runner)
    review = await make_review(runner, author, rating=5, title="Buy it")
    admin = await make_user(role=Role.ADMIN)
    await hide_review(stored_id(review), moderator_id=stored_id(admin), reason="Advertising")
    assert await stored_ratings(runner) == ([0, 0, 1, 0, 0], 1, 3, 3.0)

    body = await update(
        client, await access_token_for(app, author), review, rating=1, title="Honest now"
    )

    edited = body["data"]["updateReview"]["review"]
    assert body["data"]["updateReview"]["errors"] == []
    assert (edited["rating"], edited["title"], edited["hidden"]) == (1, "Honest now", True)
    assert edited["moderation"] == {"reason": "Advertising"}
    assert edited["product"]["ratingCount"] == 1
    assert await stored_ratings(runner) == ([0, 0, 1, 0, 0], 1, 3, 3.0)
    assert await recounted_histogram(runner) == [0, 0, 1, 0, 0]
    [stored] = await stored_reviews()
    assert (stored["hidden"], stored["moderation"]["reason"]) == (True, "Advertising")
    listed = (await graphql(client, PRODUCT_RATINGS, {"id": global_id(runner)}))["data"]
    assert listed["product"]["reviews"] == {"totalCount": 0, "edges": []}


async def test_anonymous_callers_cannot_update_or_delete(client: httpx.AsyncClient) -> None:
    runner = await make_product(await shop())
    review = await make_review(runner)
    before = await stored_state(runner)

    updated = await update(client, None, review, rating=1)
    deleted = await graphql(client, DELETE_REVIEW, {"id": global_id(review)})

    assert error_codes(updated) == ["UNAUTHENTICATED"]
    assert updated["data"] is None
    assert error_codes(deleted) == ["UNAUTHENTICATED"]
    assert deleted["data"] is None
    assert await stored_state(runner) == before


async def test_a_malformed_review_id_is_bad_input(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    runner = await make_product(await shop())
    author = await make_buyer_of(runner)
    review = await make_review(runner, author)
    token = await access_token_for(app, author)
    before = await stored_state(runner)

    updated = await update(client, token, "not-an-id", rating=1)
    deleted = await graphql(client, DELETE_REVIEW, {"id": global_id(runner)}, token=token)

    assert error_codes(updated) == ["BAD_USER_INPUT"]
    assert error_codes(deleted) == ["BAD_USER_INPUT"]
    assert await stored_state(runner) == before
    assert await Review.get(review.id) is not None


# --- deleteReview ------------------------------------------------------------------------------


async def test_the_author_deletes_their_review_and_the_ratings_drop(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    runner = await make_product(await shop(), ratings=[0, 0, 0, 1, 0])
    author = await make_buyer_of(runner)
    review = await make_review(runner, author, rating=5)
    kept = await make_review(runner, rating=2)
    assert await stored_ratings(runner) == ([0, 1, 0, 1, 1], 3, 11, 11 / 3)
    seen = await graphql(client, PRODUCT_RATINGS, {"id": global_id(runner)})
    assert seen["data"]["product"]["ratingAverage"] == 3.67

    body = await delete(client, await access_token_for(app, author), review)

    payload = body["data"]["deleteReview"]
    assert payload["errors"] == []
    assert payload["deletedId"] == global_id(review)
    assert payload["product"] == {
        "id": global_id(runner),
        "ratingCount": 2,
        "ratingAverage": 3.0,
        "ratingHistogram": buckets([0, 1, 0, 1, 0]),
    }
    assert [stored["_id"] for stored in await stored_reviews()] == [kept.id]
    assert await stored_ratings(runner) == ([0, 1, 0, 1, 0], 2, 6, 3.0)
    assert await recounted_histogram(runner) == [0, 1, 0, 1, 0]
    assert seen["data"]["product"]["reviews"]["totalCount"] == 2
    now = (await graphql(client, PRODUCT_RATINGS, {"id": global_id(runner)}))["data"]["product"]
    assert (now["ratingCount"], now["reviews"]["totalCount"]) == (2, 1)
    assert [edge["node"]["id"] for edge in now["reviews"]["edges"]] == [global_id(kept)]


async def test_a_deleted_review_cannot_be_deleted_again(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    runner = await make_product(await shop(), ratings=[0, 0, 0, 1, 0])
    author = await make_buyer_of(runner)
    review = await make_review(runner, author, rating=5)
    token = await access_token_for(app, author)
    await delete(client, token, review)

    again = await delete(client, token, review)

    assert payload_errors(again, "deleteReview") == [("id", "REVIEW_NOT_FOUND")]
    assert again["data"]["deleteReview"]["deletedId"] is None
    assert await stored_ratings(runner) == ([0, 0, 0, 1, 0], 1, 4, 4.0)


async def test_the_author_may_review_again_after_deleting(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    runner = await make_product(await shop())
    author = await make_buyer_of(runner)
    review = await make_review(runner, author, rating=5)
    token = await access_token_for(app, author)
    await delete(client, token, review)

    body = await create(client, token, runner, rating=3)

    assert body["data"]["createReview"]["errors"] == []
    assert await stored_ratings(runner) == ([0, 0, 1, 0, 0], 1, 3, 3.0)


async def test_nobody_else_may_delete_a_review(app: Starlette, client: httpx.AsyncClient) -> None:
    runner = await make_product(await shop())
    review = await make_review(runner, rating=5)
    other_buyer = await make_buyer_of(runner)
    before = await stored_state(runner)

    body = await delete(client, await access_token_for(app, other_buyer), review)

    assert payload_errors(body, "deleteReview") == [("id", "REVIEW_NOT_FOUND")]
    assert body["data"]["deleteReview"]["deletedId"] is None
    assert body["data"]["deleteReview"]["product"] is None
    assert await stored_state(runner) == before


async def test_an_unknown_review_cannot_be_deleted(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    author = await make_user()

    body = await delete(client, await access_token_for(app, author), missing_id("Review"))

    assert payload_errors(body, "deleteReview") == [("id", "REVIEW_NOT_FOUND")]


async def test_deleting_a_hidden_review_leaves_the_ratings_as_they_are(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    runner = await make_product(await shop(), ratings=[0, 0, 0, 1, 0])
    author = await make_buyer_of(runner)
    review = await make_review(runner, author, rating=1)
    admin = await make_user(role=Role.ADMIN)
    await hide_review(stored_id(review), moderator_id=stored_id(admin), reason="Off topic")
    ratings = await stored_ratings(runner)
    assert ratings == ([0, 0, 0, 1, 0], 1, 4, 4.0)

    body = await delete(client, await access_token_for(app, author), review)

    assert body["data"]["deleteReview"]["errors"] == []
    assert body["data"]["deleteReview"]["deletedId"] == global_id(review)
    assert body["data"]["deleteReview"]["product"]["ratingCount"] == 1
    assert await stored_reviews() == []
    assert await stored_ratings(runner) == ratings
