"""`createReview`: verified buyers only, one review per product, plain-text limits, a limit per
account, and the product's ratings kept exact."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from strawberry import relay

from documents.common import utc_now
from documents.orders import OrderStatus
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
    UPDATE_REVIEW,
    buckets,
    create,
    delete,
    missing_id,
    recounted_histogram,
    shop,
    stored_ratings,
    stored_reviews,
    stored_state,
    update,
)
from tests.support import access_token_for, error_codes, graphql, payload_errors

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


@pytest.mark.parametrize(
    "title",
    [
        "\u202eseohs taerG",  # a right-to-left override, to make text read other than it is
        "Great\u200bshoes",  # a zero-width space
        "\u3164\u3164",  # Hangul fillers: letters that draw nothing
        "\u2800",  # the blank Braille pattern
        "\u0301\u0301",  # combining marks with nothing to mark
    ],
    ids=["bidi-override", "zero-width-space", "hangul-filler", "braille-blank", "marks-only"],
)
async def test_titles_that_hide_or_show_nothing_are_refused(
    app: Starlette, client: httpx.AsyncClient, title: str
) -> None:
    runner = await make_product(await shop())
    buyer = await make_buyer_of(runner)

    body = await create(client, await access_token_for(app, buyer), runner, title=title)

    assert payload_errors(body, "createReview") == [("title", "INVALID_TITLE")]
    assert await stored_reviews() == []


@pytest.mark.parametrize(
    "title",
    [
        "Love it \U0001f469\u200d\U0001f4bb",  # an emoji sequence joined by a zero-width joiner
        "\u0915\u094d\u200d\u0937 \u0905\u091a\u094d\u091b\u093e",  # Devanagari with a joiner
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian with a non-joiner
    ],
    ids=["emoji-zwj", "devanagari-zwj", "persian-zwnj"],
)
async def test_titles_in_scripts_that_need_joiners_are_accepted(
    app: Starlette, client: httpx.AsyncClient, title: str
) -> None:
    runner = await make_product(await shop())
    buyer = await make_buyer_of(runner)

    body = await create(client, await access_token_for(app, buyer), runner, title=title)

    assert body["data"]["createReview"]["errors"] == []
    assert body["data"]["createReview"]["review"]["title"] == title


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
