"""Moderation: admins hide, unhide and delete reviews; a hidden review is out of its product's
lists and ratings, and only its author and admins see it, with the reason."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from bson import ObjectId
from starlette.applications import Starlette
from strawberry import relay

from documents.accounts import Role, User
from documents.catalog import Product
from documents.common import stored_id
from documents.reviews import ModerationHold, Review, hide_review
from tests.factories import (
    global_id,
    make_buyer_of,
    make_product,
    make_review,
    make_user,
)
from tests.reviews.review_support import (
    buckets,
    create,
    recounted_histogram,
    shop,
    stored_ratings,
    stored_reviews,
    stored_state,
)
from tests.support import access_token_for, error_codes, graphql, payload_errors

MODERATED_REVIEW = """
id hidden rating title moderation { reason hiddenAt }
product { ratingCount ratingAverage ratingHistogram { stars count } }
"""
HIDE_REVIEW = f"""
mutation HideReview($input: HideReviewInput!) {{
  hideReview(input: $input) {{
    review {{ {MODERATED_REVIEW} }}
    errors {{ field code message }}
  }}
}}
"""
UNHIDE_REVIEW = f"""
mutation UnhideReview($id: ID!) {{
  unhideReview(id: $id) {{
    review {{ {MODERATED_REVIEW} }}
    errors {{ field code message }}
  }}
}}
"""
DELETE_REVIEW = """
mutation DeleteReview($id: ID!) {
  deleteReview(id: $id) {
    deletedId
    product { ratingCount ratingAverage ratingHistogram { stars count } }
    errors { field code message }
  }
}
"""
REVIEW_NODE = """
query ReviewNode($id: ID!) {
  node(id: $id) { ... on Review { id hidden title authorName moderation { reason } } }
}
"""
MY_REVIEWS = """
query MyReviews {
  me { reviews(first: 10) { totalCount edges { node { id hidden title moderation { reason } } } } }
}
"""
MODERATION_LIST = """
query ModerationList($filter: ReviewFilter) {
  reviews(first: 10, filter: $filter) { totalCount edges { node { id hidden } } }
}
"""
# What the storefront shows of a product's ratings and reviews (cached for anonymous callers).
PRODUCT_RATINGS = """
query ProductRatings($id: ID!) {
  product(id: $id) {
    ratingCount ratingAverage ratingHistogram { stars count }
    reviews(first: 10) { totalCount edges { node { id } } }
  }
}
"""


async def make_admin() -> User:
    return await make_user(role=Role.ADMIN)


async def storefront(client: httpx.AsyncClient, product: Product) -> dict[str, Any]:
    """The product as an anonymous visitor sees it."""
    body = await graphql(client, PRODUCT_RATINGS, {"id": global_id(product)})
    shown: dict[str, Any] = body["data"]["product"]
    return shown


def listed_ids(shown: dict[str, Any]) -> list[str]:
    return [edge["node"]["id"] for edge in shown["reviews"]["edges"]]


async def hide(
    client: httpx.AsyncClient, token: str | None, review: Review | str, reason: str = "Spam"
) -> dict[str, Any]:
    review_id = review if isinstance(review, str) else global_id(review)
    variables = {"input": {"id": review_id, "reason": reason}}
    return await graphql(client, HIDE_REVIEW, variables, token=token)


async def unhide(
    client: httpx.AsyncClient, token: str | None, review: Review | str
) -> dict[str, Any]:
    review_id = review if isinstance(review, str) else global_id(review)
    return await graphql(client, UNHIDE_REVIEW, {"id": review_id}, token=token)


async def hidden_by_domain(review: Review, reason: str = "Spam") -> None:
    admin = await make_admin()
    await hide_review(stored_id(review), moderator_id=stored_id(admin), reason=reason)


# --- hideReview --------------------------------------------------------------------------------


async def test_a_hidden_review_leaves_the_product_lists_and_ratings(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    runner = await make_product(await shop(), ratings=[0, 0, 0, 0, 1])
    rant = await make_review(runner, rating=1, title="Call me on 98765 43210")
    fair = await make_review(runner, rating=4)
    admin = await make_admin()
    shown_before = await storefront(client, runner)
    public_before = await graphql(client, REVIEW_NODE, {"id": global_id(rant)})

    body = await hide(
        client, await access_token_for(app, admin), rant, reason="  Contains a   phone number "
    )

    payload = body["data"]["hideReview"]
    assert payload["errors"] == []
    hidden = payload["review"]
    assert (hidden["id"], hidden["hidden"]) == (global_id(rant), True)
    assert hidden["moderation"]["reason"] == "Contains a phone number"
    assert hidden["moderation"]["hiddenAt"] is not None
    assert hidden["product"] == {
        "ratingCount": 2,
        "ratingAverage": 4.5,
        "ratingHistogram": buckets([0, 0, 0, 1, 1]),
    }
    [stored_rant, _] = await stored_reviews()
    assert stored_rant["hidden"] is True
    assert stored_rant["moderation"]["reason"] == "Contains a phone number"
    assert stored_rant["moderation"]["hidden_by"] == admin.id
    assert await stored_ratings(runner) == ([0, 0, 0, 1, 1], 2, 9, 4.5)
    assert await recounted_histogram(runner) == [0, 0, 0, 1, 1]
    # The storefront's cached answers see it go.
    assert (shown_before["ratingCount"], shown_before["reviews"]["totalCount"]) == (3, 2)
    assert public_before["data"]["node"]["id"] == global_id(rant)
    shown = await storefront(client, runner)
    assert (shown["ratingCount"], shown["ratingAverage"]) == (2, 4.5)
    assert shown["ratingHistogram"] == buckets([0, 0, 0, 1, 1])
    assert shown["reviews"]["totalCount"] == 1
    assert listed_ids(shown) == [global_id(fair)]
    assert (await graphql(client, REVIEW_NODE, {"id": global_id(rant)}))["data"] == {"node": None}
    moderation_list = await graphql(
        client,
        MODERATION_LIST,
        {"filter": {"hidden": True}},
        token=await access_token_for(app, admin),
    )
    assert moderation_list["data"]["reviews"] == {
        "totalCount": 1,
        "edges": [{"node": {"id": global_id(rant), "hidden": True}}],
    }


async def test_only_its_author_and_admins_see_a_hidden_review_and_why(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    runner = await make_product(await shop())
    author = await make_buyer_of(runner, name="Asha Rao")
    review = await make_review(runner, author, rating=2, title="Rubbish")
    await hidden_by_domain(review, reason="Insults")
    variables = {"id": global_id(review)}
    author_token = await access_token_for(app, author)
    other_token = await access_token_for(app, await make_buyer_of(runner))

    anonymous = await graphql(client, REVIEW_NODE, variables)
    other_user = await graphql(client, REVIEW_NODE, variables, token=other_token)
    as_author = await graphql(client, REVIEW_NODE, variables, token=author_token)
    as_admin = await graphql(
        client, REVIEW_NODE, variables, token=await access_token_for(app, await make_admin())
    )
    mine = await graphql(client, MY_REVIEWS, token=author_token)
    others = await graphql(client, MY_REVIEWS, token=other_token)

    assert "errors" not in anonymous
    assert anonymous["data"] == {"node": None}
    assert other_user["data"] == {"node": None}
    seen = {
        "id": global_id(review),
        "hidden": True,
        "title": "Rubbish",
        "authorName": "Asha Rao",
        "moderation": {"reason": "Insults"},
    }
    assert as_author["data"] == {"node": seen}
    assert as_admin["data"] == {"node": seen}
    assert mine["data"]["me"]["reviews"] == {
        "totalCount": 1,
        "edges": [
            {
                "node": {
                    "id": global_id(review),
                    "hidden": True,
                    "title": "Rubbish",
                    "moderation": {"reason": "Insults"},
                }
            }
        ],
    }
    assert others["data"]["me"]["reviews"] == {"totalCount": 0, "edges": []}


async def test_nobody_sees_moderation_on_a_visible_review(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    runner = await make_product(await shop())
    author = await make_buyer_of(runner)
    review = await make_review(runner, author)
    variables = {"id": global_id(review)}

    anonymous = await graphql(client, REVIEW_NODE, variables)
    as_author = await graphql(
        client, REVIEW_NODE, variables, token=await access_token_for(app, author)
    )

    assert anonymous["data"]["node"]["moderation"] is None
    assert as_author["data"]["node"]["hidden"] is False
    assert as_author["data"]["node"]["moderation"] is None


async def test_hiding_a_hidden_review_again_counts_it_out_once(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    runner = await make_product(await shop(), ratings=[0, 0, 1, 0, 0])
    review = await make_review(runner, rating=5)
    first_admin, second_admin = await make_admin(), await make_admin()
    await hide(client, await access_token_for(app, first_admin), review, reason="Spam")
    [first] = await stored_reviews()

    same = await hide(client, await access_token_for(app, first_admin), review, reason="Spam")
    state_after_same = await stored_state(runner)
    new_reason = await hide(
        client, await access_token_for(app, second_admin), review, reason="Spam link"
    )

    assert same["data"]["hideReview"]["errors"] == []
    assert same["data"]["hideReview"]["review"]["hidden"] is True
    assert state_after_same == ([first], state_after_same[1])
    assert new_reason["data"]["hideReview"]["errors"] == []
    assert new_reason["data"]["hideReview"]["review"]["moderation"]["reason"] == "Spam link"
    [stored] = await stored_reviews()
    assert stored["moderation"]["reason"] == "Spam link"
    assert stored["moderation"]["hidden_at"] == first["moderation"]["hidden_at"]
    assert stored["moderation"]["hidden_by"] == second_admin.id
    assert await stored_ratings(runner) == ([0, 0, 1, 0, 0], 1, 3, 3.0)
    assert await recounted_histogram(runner) == [0, 0, 1, 0, 0]


async def test_the_longest_reason_is_accepted(app: Starlette, client: httpx.AsyncClient) -> None:
    runner = await make_product(await shop())
    review = await make_review(runner)

    body = await hide(client, await access_token_for(app, await make_admin()), review, "r" * 500)

    assert body["data"]["hideReview"]["errors"] == []
    [stored] = await stored_reviews()
    assert len(stored["moderation"]["reason"]) == 500


@pytest.mark.parametrize("reason", ["", "   ", "r" * 501, "Spam\x07", "Spam\u200b"])
async def test_a_missing_or_bad_reason_is_refused_and_changes_nothing(
    app: Starlette, client: httpx.AsyncClient, reason: str
) -> None:
    runner = await make_product(await shop())
    review = await make_review(runner, rating=5)
    before = await stored_state(runner)

    body = await hide(client, await access_token_for(app, await make_admin()), review, reason)

    assert payload_errors(body, "hideReview") == [("reason", "INVALID_REASON")]
    assert body["data"]["hideReview"]["review"] is None
    assert await stored_state(runner) == before


@pytest.mark.parametrize("control", ["\x1f", "\u2028"])
async def test_control_characters_in_a_reason_are_refused_not_turned_into_spaces(
    app: Starlette, client: httpx.AsyncClient, control: str
) -> None:
    # Only tabs and line breaks are whitespace to collapse, as in addresses.
    runner = await make_product(await shop())
    review = await make_review(runner, rating=5)
    before = await stored_state(runner)

    body = await hide(
        client, await access_token_for(app, await make_admin()), review, f"Spam{control}link"
    )

    assert payload_errors(body, "hideReview") == [("reason", "INVALID_REASON")]
    assert await stored_state(runner) == before


# --- unhideReview ------------------------------------------------------------------------------


async def test_unhiding_puts_the_review_back_in_the_lists_and_ratings(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    runner = await make_product(await shop(), ratings=[0, 1, 0, 0, 0])
    review = await make_review(runner, rating=5)
    counted = await stored_ratings(runner)
    await hidden_by_domain(review)
    shown_while_hidden = await storefront(client, runner)

    body = await unhide(client, await access_token_for(app, await make_admin()), review)

    payload = body["data"]["unhideReview"]
    assert payload["errors"] == []
    assert (payload["review"]["hidden"], payload["review"]["moderation"]) == (False, None)
    assert payload["review"]["product"]["ratingHistogram"] == buckets([0, 1, 0, 0, 1])
    assert counted == ([0, 1, 0, 0, 1], 2, 7, 3.5)
    assert await stored_ratings(runner) == counted
    assert await recounted_histogram(runner) == [0, 1, 0, 0, 1]
    [stored] = await stored_reviews()
    assert (stored["hidden"], stored["moderation"]) == (False, None)
    assert (shown_while_hidden["ratingCount"], listed_ids(shown_while_hidden)) == (1, [])
    shown = await storefront(client, runner)
    assert (shown["ratingCount"], shown["ratingAverage"]) == (2, 3.5)
    assert (shown["reviews"]["totalCount"], listed_ids(shown)) == (1, [global_id(review)])
    public = await graphql(client, REVIEW_NODE, {"id": global_id(review)})
    assert public["data"]["node"]["id"] == global_id(review)


async def test_unhiding_a_visible_review_changes_nothing(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    runner = await make_product(await shop(), ratings=[0, 1, 0, 0, 0])
    review = await make_review(runner, rating=5)
    before = await stored_state(runner)

    body = await unhide(client, await access_token_for(app, await make_admin()), review)

    assert body["data"]["unhideReview"]["errors"] == []
    assert body["data"]["unhideReview"]["review"]["hidden"] is False
    assert await stored_state(runner) == before


@pytest.mark.parametrize("operation", ["hide", "unhide"])
async def test_an_unknown_review_cannot_be_moderated(
    app: Starlette, client: httpx.AsyncClient, operation: str
) -> None:
    token = await access_token_for(app, await make_admin())
    unknown = str(relay.GlobalID("Review", str(ObjectId())))

    body = await (
        hide(client, token, unknown) if operation == "hide" else unhide(client, token, unknown)
    )

    mutation = f"{operation}Review"
    assert payload_errors(body, mutation) == [("id", "REVIEW_NOT_FOUND")]
    assert body["data"][mutation]["review"] is None


async def test_hiding_and_unhiding_at_once_keep_the_ratings_exact(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    runner = await make_product(await shop(), ratings=[1, 1, 1, 1, 1])
    reviews = [await make_review(runner, rating=stars) for stars in (1, 2, 3, 4, 5, 5)]
    tokens = [await access_token_for(app, await make_admin()) for _ in range(3)]

    answers = await asyncio.gather(
        *(
            (hide if round_ % 2 == 0 else unhide)(client, tokens[round_ % 3], review)
            for round_ in range(4)
            for review in reviews
        ),
        hide(client, tokens[0], reviews[0], reason="Second thoughts"),
    )

    assert all("errors" not in answer for answer in answers)
    histogram, count, total, _ = await stored_ratings(runner)
    assert histogram == await recounted_histogram(runner)
    assert (count, total) == (sum(histogram), sum((i + 1) * n for i, n in enumerate(histogram)))
    shown = await storefront(client, runner)
    assert shown["reviews"]["totalCount"] == len(listed_ids(shown)) == count - 5


# --- who may moderate --------------------------------------------------------------------------


@pytest.mark.parametrize("operation", ["hide", "unhide"])
@pytest.mark.parametrize(
    ("caller", "code"),
    [("anonymous", "UNAUTHENTICATED"), ("customer", "FORBIDDEN"), ("author", "FORBIDDEN")],
)
async def test_only_admins_hide_and_unhide_reviews(
    app: Starlette, client: httpx.AsyncClient, operation: str, caller: str, code: str
) -> None:
    runner = await make_product(await shop(), ratings=[0, 0, 0, 1, 0])
    author = await make_buyer_of(runner)
    review = await make_review(runner, author, rating=1)
    if operation == "unhide":
        await hidden_by_domain(review)
    callers = {"anonymous": None, "customer": await make_buyer_of(runner), "author": author}
    who = callers[caller]
    token = await access_token_for(app, who) if who else None
    before = await stored_state(runner)

    body = await (
        hide(client, token, review) if operation == "hide" else unhide(client, token, review)
    )

    assert error_codes(body) == [code]
    assert body["data"] is None
    assert await stored_state(runner) == before


# --- deleteReview by admins --------------------------------------------------------------------


async def test_an_admin_deletes_anyones_review_and_the_ratings_drop(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    runner = await make_product(await shop(), ratings=[0, 0, 1, 0, 0])
    review = await make_review(runner, rating=1)
    shown_before = await storefront(client, runner)

    body = await graphql(
        client,
        DELETE_REVIEW,
        {"id": global_id(review)},
        token=await access_token_for(app, await make_admin()),
    )

    payload = body["data"]["deleteReview"]
    assert payload["errors"] == []
    assert payload["deletedId"] == global_id(review)
    assert payload["product"] == {
        "ratingCount": 1,
        "ratingAverage": 3.0,
        "ratingHistogram": buckets([0, 0, 1, 0, 0]),
    }
    assert await stored_reviews() == []
    assert await stored_ratings(runner) == ([0, 0, 1, 0, 0], 1, 3, 3.0)
    assert (shown_before["ratingCount"], listed_ids(shown_before)) == (2, [global_id(review)])
    shown = await storefront(client, runner)
    assert (shown["ratingCount"], shown["reviews"]["totalCount"], listed_ids(shown)) == (1, 0, [])


async def test_an_admin_deletes_a_hidden_review_and_the_ratings_stay(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    runner = await make_product(await shop(), ratings=[0, 0, 1, 0, 0])
    review = await make_review(runner, rating=5)
    await hidden_by_domain(review)
    ratings = await stored_ratings(runner)

    body = await graphql(
        client,
        DELETE_REVIEW,
        {"id": global_id(review)},
        token=await access_token_for(app, await make_admin()),
    )

    assert body["data"]["deleteReview"]["errors"] == []
    assert body["data"]["deleteReview"]["deletedId"] == global_id(review)
    assert body["data"]["deleteReview"]["product"]["ratingCount"] == 1
    assert await stored_reviews() == []
    assert ratings == ([0, 0, 1, 0, 0], 1, 3, 3.0)
    assert await stored_ratings(runner) == ratings


# --- deleting a hidden review does not undo its moderation ------------------------------------


async def deleted_after_hiding(
    app: Starlette, client: httpx.AsyncClient, reason: str = "Spam"
) -> tuple[Product, str]:
    """A product whose buyer's review was hidden for `reason`, then deleted by the buyer; and the
    buyer's token."""
    runner = await make_product(await shop())
    author = await make_buyer_of(runner)
    token = await access_token_for(app, author)
    rant = await make_review(runner, author, rating=1)
    await hidden_by_domain(rant, reason=reason)
    deleted = await graphql(client, DELETE_REVIEW, {"id": global_id(rant)}, token=token)
    assert deleted["data"]["deleteReview"]["errors"] == []
    return runner, token


async def test_a_hidden_review_deleted_and_written_again_starts_hidden_for_the_same_reason(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    runner, token = await deleted_after_hiding(app, client, reason="Abusive language")

    body = await create(client, token, runner, rating=1, title="Same rant again")

    again = body["data"]["createReview"]["review"]
    assert (again["hidden"], again["moderation"]["reason"]) == (True, "Abusive language")
    assert await stored_ratings(runner) == ([0, 0, 0, 0, 0], 0, 0, 0.0)
    assert listed_ids(await storefront(client, runner)) == []


async def test_unhiding_the_review_written_again_lifts_the_hold(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    runner, token = await deleted_after_hiding(app, client)
    held = (await create(client, token, runner, rating=2))["data"]["createReview"]["review"]
    admin_token = await access_token_for(app, await make_admin())
    assert (await unhide(client, admin_token, held["id"]))["data"]["unhideReview"]["errors"] == []

    await graphql(client, DELETE_REVIEW, {"id": held["id"]}, token=token)
    body = await create(client, token, runner, rating=3)

    assert body["data"]["createReview"]["review"]["hidden"] is False
    assert await stored_ratings(runner) == ([0, 0, 1, 0, 0], 1, 3, 3.0)


async def test_a_visible_review_deleted_leaves_no_hold(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    runner = await make_product(await shop())
    author = await make_buyer_of(runner)
    token = await access_token_for(app, author)
    review = await make_review(runner, author, rating=4)
    await graphql(client, DELETE_REVIEW, {"id": global_id(review)}, token=token)

    body = await create(client, token, runner, rating=5)

    assert body["data"]["createReview"]["review"]["hidden"] is False
    assert await ModerationHold.find_all().count() == 0
