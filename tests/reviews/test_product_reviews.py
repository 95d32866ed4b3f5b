"""`Product.reviews`, the rating fields of a product, and the reviews a user may list."""

from __future__ import annotations

import json
from typing import Any

import httpx
from starlette.applications import Starlette

from documents.accounts import Role, User
from documents.catalog import Product
from documents.common import stored_id
from documents.orders import OrderStatus
from documents.reviews import hide_review
from tests.factories import (
    global_id,
    make_buyer_of,
    make_category,
    make_order,
    make_product,
    make_review,
    make_user,
)
from tests.support import access_token_for, error_codes, graphql

REVIEWS = """
query Reviews($slug: String!, $first: Int, $after: String, $last: Int, $before: String,
              $sortBy: ReviewSortOrder! = NEWEST) {
  product(slug: $slug) {
    reviews(first: $first, after: $after, last: $last, before: $before, sortBy: $sortBy) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { title rating } }
    }
  }
}
"""
RATINGS = """
query Ratings($slug: String!) {
  product(slug: $slug) {
    ratingAverage ratingCount ratingHistogram { stars count }
    reviews(first: 100) {
      totalCount
      edges { node { title rating body authorName verifiedPurchase hidden createdAt updatedAt editedAt } }
    }
  }
}
"""
CREATE_REVIEW = """
mutation Create($input: CreateReviewInput!) {
  createReview(input: $input) { review { id } errors { code } }
}
"""
MY_REVIEWS = """
{ me { reviews(first: 20) { totalCount edges { node {
  title hidden moderation { reason } product { name } } } } } }
"""
USER_REVIEWS = """
query UserReviews($id: ID!) {
  node(id: $id) { ... on User { name reviews(first: 20) { totalCount edges { node { title } } } } }
}
"""

# Created oldest first: (title, stars). Each sort's order, newest first among equal stars.
WRITTEN = [("r1", 4), ("r2", 5), ("r3", 2), ("r4", 5), ("r5", 4), ("r6", 1), ("r7", 2), ("r8", 5)]
NEWEST = ["r8", "r7", "r6", "r5", "r4", "r3", "r2", "r1"]
HIGHEST = ["r8", "r4", "r2", "r5", "r1", "r7", "r3", "r6"]
LOWEST = ["r6", "r7", "r3", "r5", "r1", "r8", "r4", "r2"]
ORDERS = {"NEWEST": NEWEST, "HIGHEST": HIGHEST, "LOWEST": LOWEST}


async def reviewed_product(**fields: Any) -> Product:
    """A product with the reviews of `WRITTEN`, plus imported ratings and a hidden review that
    the list must leave out."""
    product = await make_product(await make_category(), ratings=[2, 0, 1, 0, 3], **fields)
    for title, stars in WRITTEN:
        await make_review(product, rating=stars, title=title)
    hidden = await make_review(product, rating=3, title="hidden")
    admin = await make_user(role=Role.ADMIN)
    await hide_review(stored_id(hidden), moderator_id=stored_id(admin), reason="Rude")
    return product


async def reviews_page(
    client: httpx.AsyncClient, product: Product, **variables: Any
) -> dict[str, Any]:
    body = await graphql(client, REVIEWS, {"slug": product.slug, **variables})
    assert "errors" not in body, body
    connection: dict[str, Any] = body["data"]["product"]["reviews"]
    return connection


def titles(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["title"] for edge in connection["edges"]]


async def test_each_sort_lists_the_visible_reviews_in_its_order_newest_first_among_ties(
    client: httpx.AsyncClient,
) -> None:
    product = await reviewed_product()

    for sort_by, expected in ORDERS.items():
        connection = await reviews_page(client, product, sortBy=sort_by)

        assert titles(connection) == expected, sort_by
        assert connection["totalCount"] == 8
        assert connection["pageInfo"]["hasNextPage"] is False
        assert connection["pageInfo"]["hasPreviousPage"] is False
    default = await reviews_page(client, product, first=8)
    assert titles(default) == NEWEST


async def test_paging_forward_and_backward_through_every_sort_visits_each_review_once(
    client: httpx.AsyncClient,
) -> None:
    product = await reviewed_product()

    for sort_by, expected in ORDERS.items():
        forward: list[list[str]] = []
        after = None
        while True:
            page = await reviews_page(client, product, sortBy=sort_by, first=3, after=after)
            forward.append(titles(page))
            info = page["pageInfo"]
            assert info["hasPreviousPage"] is (after is not None)
            assert info["endCursor"] == page["edges"][-1]["cursor"]
            if not info["hasNextPage"]:
                break
            after = info["endCursor"]
        assert forward == [expected[0:3], expected[3:6], expected[6:8]], sort_by

        backward: list[list[str]] = []
        before = None
        while True:
            page = await reviews_page(client, product, sortBy=sort_by, last=3, before=before)
            backward.append(titles(page))
            info = page["pageInfo"]
            assert info["hasNextPage"] is (before is not None)
            assert info["startCursor"] == page["edges"][0]["cursor"]
            if not info["hasPreviousPage"]:
                break
            before = info["startCursor"]
        assert backward == [expected[5:8], expected[2:5], expected[0:2]], sort_by


async def test_a_review_written_between_pages_does_not_shift_the_next_page(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    product = await reviewed_product()
    newest_first = await reviews_page(client, product, first=3)
    best_first = await reviews_page(client, product, first=3, sortBy="HIGHEST")
    # A new five-star review: first both by date and by stars, so before both cursors.
    buyer = await make_buyer_of(product)
    created = await graphql(
        client,
        CREATE_REVIEW,
        {"input": {"productId": global_id(product), "rating": 5, "title": "new"}},
        token=await access_token_for(app, buyer),
    )
    assert created["data"]["createReview"]["errors"] == []

    newest_next = await reviews_page(
        client, product, first=3, after=newest_first["pageInfo"]["endCursor"]
    )
    best_next = await reviews_page(
        client, product, first=3, after=best_first["pageInfo"]["endCursor"], sortBy="HIGHEST"
    )
    newest_again = await reviews_page(client, product, first=3)

    assert titles(newest_first) == NEWEST[0:3]
    assert titles(newest_next) == NEWEST[3:6]
    assert titles(best_first) == HIGHEST[0:3]
    assert titles(best_next) == HIGHEST[3:6]
    assert titles(newest_again) == ["new", *NEWEST[0:2]]
    assert newest_again["totalCount"] == 9


async def test_a_cursor_of_one_sort_is_refused_by_another(client: httpx.AsyncClient) -> None:
    product = await reviewed_product()
    cursors = {
        sort_by: (await reviews_page(client, product, first=2, sortBy=sort_by))["pageInfo"][
            "endCursor"
        ]
        for sort_by in ORDERS
    }

    for cursor_of, sort_by in [
        ("NEWEST", "HIGHEST"),
        ("HIGHEST", "LOWEST"),
        ("LOWEST", "HIGHEST"),
        ("LOWEST", "NEWEST"),
    ]:
        body = await graphql(
            client,
            REVIEWS,
            {"slug": product.slug, "first": 2, "after": cursors[cursor_of], "sortBy": sort_by},
        )

        assert error_codes(body) == ["BAD_USER_INPUT"], (cursor_of, sort_by)
        assert body["errors"][0]["extensions"]["field"] == "after"
        assert "another sort order" in body["errors"][0]["message"]
        assert body["data"] == {"product": None}


async def test_page_sizes_above_100_and_contradictory_arguments_are_refused(
    client: httpx.AsyncClient,
) -> None:
    product = await reviewed_product()

    for variables in (
        {"first": 101},
        {"last": 101},
        {"first": -1},
        {"first": 2, "last": 2},
        {"after": "not-a-cursor"},
    ):
        body = await graphql(client, REVIEWS, {"slug": product.slug, **variables})

        assert error_codes(body) == ["BAD_USER_INPUT"], variables
    assert titles(await reviews_page(client, product, first=100)) == NEWEST


async def test_counts_and_histogram_include_imported_ratings_but_total_count_only_visible_reviews(
    client: httpx.AsyncClient,
) -> None:
    product = await reviewed_product()

    body = await graphql(client, RATINGS, {"slug": product.slug})

    shown = body["data"]["product"]
    # Imported [2, 0, 1, 0, 3] plus the eight visible reviews; the hidden one counts nowhere.
    assert shown["ratingHistogram"] == [
        {"stars": 5, "count": 3 + 3},
        {"stars": 4, "count": 0 + 2},
        {"stars": 3, "count": 1 + 0},
        {"stars": 2, "count": 0 + 2},
        {"stars": 1, "count": 2 + 1},
    ]
    assert shown["ratingCount"] == 6 + 8
    assert shown["ratingAverage"] == 3.43  # (6 * 5 + 2 * 4 + 3 + 2 * 2 + 3) / 14 = 3.428...
    assert shown["reviews"]["totalCount"] == 8
    assert len(shown["reviews"]["edges"]) == 8
    assert all(not edge["node"]["hidden"] for edge in shown["reviews"]["edges"])


async def test_the_average_is_shown_to_two_decimals_and_zero_when_unrated(
    client: httpx.AsyncClient,
) -> None:
    shoes = await make_category()
    thirds = await make_product(shoes, ratings=[0, 0, 0, 0, 0])
    for stars in (5, 4, 4):
        await make_review(thirds, rating=stars)
    two_thirds = await make_product(shoes, ratings=[1, 0, 0, 0, 1])
    await make_review(two_thirds, rating=5)
    unrated = await make_product(shoes)

    shown = {
        product.slug: (await graphql(client, RATINGS, {"slug": product.slug}))["data"]["product"]
        for product in (thirds, two_thirds, unrated)
    }

    assert shown[thirds.slug]["ratingAverage"] == 4.33  # 13 / 3
    assert shown[two_thirds.slug]["ratingAverage"] == 3.67  # 11 / 3
    assert shown[unrated.slug] == {
        "ratingAverage": 0.0,
        "ratingCount": 0,
        "ratingHistogram": [{"stars": stars, "count": 0} for stars in (5, 4, 3, 2, 1)],
        "reviews": {"totalCount": 0, "edges": []},
    }
    stored = await Product.get(thirds.id)
    assert stored is not None
    assert stored.rating_average == 13 / 3  # unrounded where lists sort and filter on it


async def test_a_review_is_signed_with_its_authors_name_never_the_email(
    client: httpx.AsyncClient,
) -> None:
    product = await make_product(await make_category())
    asha = await make_buyer_of(product, email="asha.rao@example.com", name="Asha R.")
    await make_review(product, author=asha, rating=4, title="Comfy", body="Line one\nLine two")
    gone = await make_review(product, rating=2, title="Meh")
    await User.get_pymongo_collection().delete_one({"_id": gone.author_id})

    body = await graphql(client, RATINGS, {"slug": product.slug})

    nodes = [edge["node"] for edge in body["data"]["product"]["reviews"]["edges"]]
    assert [(n["title"], n["authorName"]) for n in nodes] == [
        ("Meh", "Former customer"),
        ("Comfy", "Asha R."),
    ]
    comfy = nodes[1]
    assert comfy["rating"] == 4
    assert comfy["body"] == "Line one\nLine two"
    assert comfy["verifiedPurchase"] is True
    assert comfy["createdAt"] == comfy["updatedAt"]
    assert comfy["editedAt"] is None
    assert "asha.rao@example.com" not in json.dumps(body)
    assert "@" not in json.dumps(body)


async def test_me_lists_my_own_reviews_newest_first_hidden_ones_with_their_reason(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    shoes = await make_category()
    first, second, third = [await make_product(shoes, name=f"Shoe {n}") for n in (1, 2, 3)]
    asha = await make_user(name="Asha")
    for product in (first, second, third):
        await make_review(product, title=f"not mine {product.name}")
    for product, title in ((first, "oldest"), (second, "middle"), (third, "newest")):
        await make_order(asha, (product, 1), status=OrderStatus.DELIVERED)
        review = await make_review(product, author=asha, title=title)
    admin = await make_user(role=Role.ADMIN)
    await hide_review(stored_id(review), moderator_id=stored_id(admin), reason="Spoilers")

    body = await graphql(client, MY_REVIEWS, token=await access_token_for(app, asha))

    assert body["data"]["me"]["reviews"] == {
        "totalCount": 3,
        "edges": [
            {
                "node": {
                    "title": "newest",
                    "hidden": True,
                    "moderation": {"reason": "Spoilers"},
                    "product": {"name": "Shoe 3"},
                }
            },
            {
                "node": {
                    "title": "middle",
                    "hidden": False,
                    "moderation": None,
                    "product": {"name": "Shoe 2"},
                }
            },
            {
                "node": {
                    "title": "oldest",
                    "hidden": False,
                    "moderation": None,
                    "product": {"name": "Shoe 1"},
                }
            },
        ],
    }


async def test_a_users_reviews_are_listed_for_the_user_and_admins_only(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    product = await make_product(await make_category())
    asha = await make_buyer_of(product, name="Asha")
    await make_review(product, author=asha, title="mine")
    ravi = await make_buyer_of(product, name="Ravi")
    await make_review(product, author=ravi, title="his")
    admin = await make_user(role=Role.ADMIN)

    async def seen_by(viewer: User | None) -> Any:
        token = await access_token_for(app, viewer) if viewer else None
        body = await graphql(client, USER_REVIEWS, {"id": global_id(asha)}, token=token)
        assert "errors" not in body, body
        return body["data"]["node"]

    mine = {"name": "Asha", "reviews": {"totalCount": 1, "edges": [{"node": {"title": "mine"}}]}}
    assert await seen_by(asha) == mine
    assert await seen_by(admin) == mine
    # Another user reaches neither the user nor, through it, the reviews.
    assert await seen_by(ravi) is None
    assert await seen_by(None) is None
