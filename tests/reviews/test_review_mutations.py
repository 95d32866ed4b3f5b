"""`createReview`, `updateReview`, `deleteReview`: verified buyers only, one review per product,
plain-text limits, the author's own review only, and the product's ratings kept exact."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from bson import ObjectId
from starlette.applications import Starlette
from strawberry import relay

from documents.accounts import Role
from documents.catalog import Category, Product
from documents.common import stored_id, utc_now
from documents.orders import OrderStatus
from documents.reviews import Review, hide_review
from tests.factories import (
    global_id,
    make_buyer_of,
    make_category,
    make_order,
    make_product,
    make_review,
    make_user,
)
from tests.support import access_token_for, error_codes, graphql, payload_errors

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


# --- createReview ------------------------------------------------------------------------------


async def test_a_verified_buyer_reviews_the_product_and_its_ratings_count_the_review(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    runner = await make_product(await shop(), ratings=[0, 0, 1, 1, 0])
    asha = await make_user("asha@example.com", name="Asha Rao")
    await make_order(asha, (runner, 1), status=OrderStatus.CANCELLED)
    delivered = await make_order(asha, (runner, 2), status=OrderStatus.DELIVERED)
    before = await graphql(client, PRODUCT_RATINGS, {"id": global_id(runner)})

    body = await create(
        client,
        await access_token_for(app, asha),
        runner,
        rating=5,
        title="  Light   and comfortable ",
        body="Ran 10 km on day one.\r\nNo blisters.  \n\nWould buy again.\n",
    )

    payload = body["data"]["createReview"]
    assert payload["errors"] == []
    review = payload["review"]
    [stored] = await stored_reviews()
    assert review["id"] == str(relay.GlobalID("Review", str(stored["_id"])))
    assert (review["rating"], review["title"]) == (5, "Light and comfortable")
    assert review["body"] == "Ran 10 km on day one.\nNo blisters.\n\nWould buy again."
    assert review["authorName"] == "Asha Rao"
    assert (review["verifiedPurchase"], review["hidden"]) == (True, False)
    assert (review["editedAt"], review["moderation"]) == (None, None)
    assert review["createdAt"] == review["updatedAt"]
    assert review["product"] == {
        "id": global_id(runner),
        "ratingCount": 3,
        "ratingAverage": 4.0,
        "ratingHistogram": buckets([0, 0, 1, 1, 1]),
    }
    assert (stored["product_id"], stored["author_id"]) == (runner.id, asha.id)
    assert stored["order_id"] == delivered.id
    assert (stored["title"], stored["body"]) == ("Light and comfortable", review["body"])
    assert await stored_ratings(runner) == ([0, 0, 1, 1, 1], 3, 12, 4.0)
    assert await recounted_histogram(runner) == [0, 0, 1, 1, 1]
    # The storefront's cached view of the product takes the new review and ratings.
    assert before["data"]["product"]["ratingCount"] == 2
    after = (await graphql(client, PRODUCT_RATINGS, {"id": global_id(runner)}))["data"]["product"]
    assert (after["ratingCount"], after["ratingAverage"]) == (3, 4.0)
    assert after["ratingHistogram"] == buckets([0, 0, 1, 1, 1])
    assert after["reviews"]["totalCount"] == 1
    assert after["reviews"]["edges"] == [
        {"node": {"id": review["id"], "rating": 5, "title": "Light and comfortable"}}
    ]


async def test_the_longest_title_and_body_are_accepted(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    runner = await make_product(await shop())
    buyer = await make_buyer_of(runner)

    body = await create(
        client, await access_token_for(app, buyer), runner, title="t" * 120, body="b" * 5000
    )

    assert body["data"]["createReview"]["errors"] == []
    [stored] = await stored_reviews()
    assert (len(stored["title"]), len(stored["body"])) == (120, 5000)


@pytest.mark.parametrize(
    ("status", "of_this_product"),
    [
        (None, False),
        (OrderStatus.CONFIRMED, True),
        (OrderStatus.PACKED, True),
        (OrderStatus.SHIPPED, True),
        (OrderStatus.CANCELLED, True),
        (OrderStatus.DELIVERED, False),
    ],
    ids=["no-order", "confirmed", "packed", "shipped", "cancelled", "delivered-other-product"],
)
async def test_only_a_buyer_with_a_delivered_order_of_the_product_may_review_it(
    app: Starlette,
    client: httpx.AsyncClient,
    status: OrderStatus | None,
    of_this_product: bool,
) -> None:
    category = await shop()
    runner = await make_product(category, ratings=[0, 0, 0, 1, 0])
    sandal = await make_product(category)
    await make_buyer_of(runner)  # someone else's delivery makes no one else a verified buyer
    ravi = await make_user("ravi@example.com")
    if status is not None:
        await make_order(ravi, (runner if of_this_product else sandal, 1), status=status)
    before = await stored_state(runner)

    body = await create(client, await access_token_for(app, ravi), runner)

    assert payload_errors(body, "createReview") == [("productId", "NOT_A_VERIFIED_BUYER")]
    assert body["data"]["createReview"]["review"] is None
    assert await stored_state(runner) == before


async def test_a_second_review_of_the_same_product_names_the_first(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    runner = await make_product(await shop())
    buyer = await make_buyer_of(runner)
    first = await make_review(runner, buyer, rating=4)
    before = await stored_state(runner)

    body = await create(client, await access_token_for(app, buyer), runner, rating=1)

    [error] = body["data"]["createReview"]["errors"]
    assert (error["field"], error["code"]) == ("productId", "ALREADY_REVIEWED")
    assert error["existingReviewId"] == global_id(first)
    assert body["data"]["createReview"]["review"] is None
    assert await stored_state(runner) == before
    assert await stored_ratings(runner) == ([0, 0, 0, 1, 0], 1, 4, 4.0)


@pytest.mark.parametrize(
    "fields",
    [{"published": False}, {"published": False, "archived_at": utc_now()}],
    ids=["unpublished", "archived"],
)
async def test_a_product_off_the_storefront_cannot_be_reviewed(
    app: Starlette, client: httpx.AsyncClient, fields: dict[str, Any]
) -> None:
    runner = await make_product(await shop(), **fields)
    buyer = await make_buyer_of(runner)
    before = await stored_state(runner)

    body = await create(client, await access_token_for(app, buyer), runner)

    assert payload_errors(body, "createReview") == [("productId", "PRODUCT_NOT_FOUND")]
    assert await stored_state(runner) == before


async def test_an_unknown_product_cannot_be_reviewed(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    buyer = await make_user()

    body = await create(client, await access_token_for(app, buyer), missing_id("Product"))

    assert payload_errors(body, "createReview") == [("productId", "PRODUCT_NOT_FOUND")]
    assert await stored_reviews() == []


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"rating": 0}, [("rating", "INVALID_RATING")]),
        ({"rating": 6}, [("rating", "INVALID_RATING")]),
        ({"rating": -1}, [("rating", "INVALID_RATING")]),
        ({"title": ""}, [("title", "INVALID_TITLE")]),
        ({"title": " \t\n "}, [("title", "INVALID_TITLE")]),
        ({"title": "t" * 121}, [("title", "INVALID_TITLE")]),
        ({"title": "Great\x07shoes"}, [("title", "INVALID_TITLE")]),
        ({"title": "Great\x00"}, [("title", "INVALID_TITLE")]),
        ({"title": "Great\u200bshoes"}, [("title", "INVALID_TITLE")]),
        ({"body": "b" * 5001}, [("body", "INVALID_BODY")]),
        ({"body": "Nice\x00shoes"}, [("body", "INVALID_BODY")]),
        ({"body": "Nice \x1b[31mred\x1b[0m shoes"}, [("body", "INVALID_BODY")]),
        ({"body": "Nice\x0bshoes"}, [("body", "INVALID_BODY")]),
        ({"body": "Nice\u2028shoes"}, [("body", "INVALID_BODY")]),
        (
            {"rating": 6, "title": " ", "body": "\x07"},
            [("rating", "INVALID_RATING"), ("title", "INVALID_TITLE"), ("body", "INVALID_BODY")],
        ),
    ],
)
async def test_invalid_fields_are_refused_together_and_change_nothing(
    app: Starlette,
    client: httpx.AsyncClient,
    fields: dict[str, Any],
    expected: list[tuple[str, str]],
) -> None:
    runner = await make_product(await shop(), ratings=[1, 0, 0, 0, 0])
    buyer = await make_buyer_of(runner)
    before = await stored_state(runner)

    body = await create(client, await access_token_for(app, buyer), runner, **fields)

    assert payload_errors(body, "createReview") == expected
    assert body["data"]["createReview"]["review"] is None
    assert await stored_state(runner) == before


@pytest.mark.parametrize("control", ["\x0b", "\x1f", "\x85", "\u2028"])
async def test_control_characters_in_a_title_are_refused_not_turned_into_spaces(
    app: Starlette, client: httpx.AsyncClient, control: str
) -> None:
    # Addresses refuse these (tests/addresses: "Karnataka\x1f"); a title must not keep them as
    # spaces either: only tabs and line breaks are whitespace to collapse.
    runner = await make_product(await shop())
    buyer = await make_buyer_of(runner)

    body = await create(
        client, await access_token_for(app, buyer), runner, title=f"Great{control}shoes"
    )

    assert payload_errors(body, "createReview") == [("title", "INVALID_TITLE")]
    assert await stored_reviews() == []


@pytest.mark.parametrize("token", [None, "not-a-valid-access-token"], ids=["none", "bad"])
async def test_anonymous_callers_cannot_review(
    client: httpx.AsyncClient, token: str | None
) -> None:
    runner = await make_product(await shop())
    before = await stored_state(runner)

    body = await create(client, token, runner)

    assert error_codes(body) == ["UNAUTHENTICATED"]
    assert body["data"] is None
    assert await stored_state(runner) == before


async def test_a_malformed_product_id_is_bad_input(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    runner = await make_product(await shop())
    buyer = await make_buyer_of(runner)
    token = await access_token_for(app, buyer)
    before = await stored_state(runner)

    malformed = await create(client, token, runner, productId="not-an-id")
    another_type = await create(client, token, runner, productId=global_id(buyer))

    assert error_codes(malformed) == ["BAD_USER_INPUT"]
    assert malformed["data"] is None
    assert error_codes(another_type) == ["BAD_USER_INPUT"]
    assert await stored_state(runner) == before


async def test_one_account_may_write_reviews_30_times_an_hour(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    category = await shop()
    runner, sandal = await make_product(category), await make_product(category)
    buyer = await make_buyer_of(runner)
    await make_order(buyer, (sandal, 1), status=OrderStatus.DELIVERED)
    token = await access_token_for(app, buyer)
    created = await create(client, token, runner, rating=1)
    review_id = created["data"]["createReview"]["review"]["id"]
    # Every write counts, whatever it changes: 29 edits after the review make 30.
    for stars in [2, 3, 4, 5] * 7 + [4]:
        edit = {"input": {"id": review_id, "rating": stars}}
        edited = await graphql(client, UPDATE_REVIEW, edit, token=token)
        assert edited["data"]["updateReview"]["errors"] == []
    runner_before, sandal_before = await stored_state(runner), await stored_state(sandal)

    another_review = await create(client, token, sandal)
    another_edit = await graphql(
        client, UPDATE_REVIEW, {"input": {"id": review_id, "rating": 1}}, token=token
    )
    deletion = await graphql(client, DELETE_REVIEW, {"id": review_id}, token=token)

    for refused in (another_review, another_edit, deletion):
        assert error_codes(refused) == ["RATE_LIMITED"]
        assert 1 <= refused["errors"][0]["extensions"]["retryAfter"] <= 3600
        assert refused["data"] is None
    assert await stored_state(runner) == runner_before
    assert await stored_state(sandal) == sandal_before
    assert await stored_ratings(runner) == ([0, 0, 0, 1, 0], 1, 4, 4.0)
    # The limit is per account: another buyer still may.
    other_token = await access_token_for(app, await make_buyer_of(sandal))
    assert (await create(client, other_token, sandal))["data"]["createReview"]["errors"] == []


async def test_a_buyer_racing_themselves_gets_one_review_counted_once(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    runner = await make_product(await shop(), ratings=[0, 0, 1, 0, 0])
    buyer = await make_buyer_of(runner)
    token = await access_token_for(app, buyer)

    answers = await asyncio.gather(
        *(create(client, token, runner, rating=stars) for stars in (1, 2, 4, 5))
    )

    [stored] = await stored_reviews()
    winner = str(relay.GlobalID("Review", str(stored["_id"])))
    payloads = [answer["data"]["createReview"] for answer in answers]
    assert [p["review"]["id"] for p in payloads if p["review"]] == [winner]
    refusals = [
        [(e["field"], e["code"], e["existingReviewId"]) for e in p["errors"]]
        for p in payloads
        if not p["review"]
    ]
    assert refusals == [[("productId", "ALREADY_REVIEWED", winner)]] * 3
    expected = [0, 0, 1, 0, 0]
    expected[stored["rating"] - 1] += 1
    assert (await stored_ratings(runner))[:2] == (expected, 2)
    assert await recounted_histogram(runner) == expected


async def test_many_buyers_reviewing_and_editing_at_once_keep_the_ratings_exact(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    runner = await make_product(await shop(), ratings=[2, 0, 0, 0, 3])
    editors = [await make_buyer_of(runner) for _ in range(4)]
    edited = [await make_review(runner, editor, rating=3) for editor in editors]
    writers = [await make_buyer_of(runner) for _ in range(6)]
    editor_tokens = [await access_token_for(app, editor) for editor in editors]
    writer_tokens = [await access_token_for(app, writer) for writer in writers]

    answers = await asyncio.gather(
        *(
            create(client, token, runner, rating=stars)
            for token, stars in zip(writer_tokens, [1, 2, 3, 4, 5, 5], strict=True)
        ),
        *(
            update(client, token, review, rating=stars)
            for token, review, stars in zip(editor_tokens, edited, [1, 5, 5, 2], strict=True)
        ),
        delete(client, editor_tokens[3], edited[3]),
    )

    assert all("errors" not in answer for answer in answers)
    histogram, count, total, average = await stored_ratings(runner)
    assert histogram == await recounted_histogram(runner)
    assert histogram == [2 + 2, 1, 1, 1, 3 + 4]
    assert (count, total) == (sum(histogram), sum((i + 1) * n for i, n in enumerate(histogram)))
    assert average == pytest.approx(total / count)


# --- updateReview ------------------------------------------------------------------------------


async def update(
    client: httpx.AsyncClient, token: str | None, review: Review | str, **fields: Any
) -> dict[str, Any]:
    review_id = review if isinstance(review, str) else global_id(review)
    return await graphql(client, UPDATE_REVIEW, {"input": {"id": review_id, **fields}}, token=token)


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


async def delete(client: httpx.AsyncClient, token: str, review: Review | str) -> dict[str, Any]:
    review_id = review if isinstance(review, str) else global_id(review)
    return await graphql(client, DELETE_REVIEW, {"id": review_id}, token=token)


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
