"""Review writes retire exactly the cached storefront results that show the product's ratings or
reviews (or the review itself), and nothing else.

Each test warms a set of anonymous public reads (MISS, then HIT), makes one write through the API,
and then asks every read again: the reads that show what the write changed must MISS, all others
must still HIT.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from documents.accounts import Role, User
from documents.catalog import Category, Product
from documents.common import stored_id
from documents.reviews import Review
from documents.reviews import hide_review as hide_in_database
from settings import Settings
from tests.factories import (
    DEFAULT_PASSWORD,
    global_id,
    make_buyer_of,
    make_category,
    make_product,
    make_review,
    make_user,
)
from tests.support import admin_token, graphql, login

PRODUCT_RATINGS = """
query ProductRatings($slug: String!) {
  product(slug: $slug) { ratingAverage ratingCount ratingHistogram { stars count } }
}
"""
PRODUCT_REVIEWS = """
query ProductReviews($slug: String!) {
  product(slug: $slug) { reviews(first: 5) { edges { node { title rating authorName } } } }
}
"""
PRODUCT_BASICS = """
query ProductBasics($slug: String!) { product(slug: $slug) { name finalPrice { amount } } }
"""
PRODUCT_PAGE = """
query ProductPage($slug: String!) {
  product(slug: $slug) {
    name
    ratingAverage
    ratingCount
    ratingHistogram { stars count }
    reviews(first: 5) { totalCount edges { node { title rating authorName } } }
  }
}
"""
PRODUCT_NAMES = """
query ProductNames($filter: ProductFilter, $sortBy: ProductSortInput) {
  products(first: 20, filter: $filter, sortBy: $sortBy) { edges { node { name } } }
}
"""
PRODUCT_NAMES_AND_RATINGS = """
query ProductNamesAndRatings($filter: ProductFilter, $sortBy: ProductSortInput) {
  products(first: 20, filter: $filter, sortBy: $sortBy) { edges { node { name ratingAverage } } }
}
"""
REVIEW_NODE = """
query ReviewNode($id: ID!) { node(id: $id) { ... on Review { title } } }
"""
REVIEW_NODE_WITH_AUTHOR = """
query ReviewNodeWithAuthor($id: ID!) { node(id: $id) { ... on Review { title authorName } } }
"""

CREATE_REVIEW = """
mutation CreateReview($input: CreateReviewInput!) {
  createReview(input: $input) { review { id } errors { code } }
}
"""
UPDATE_REVIEW = """
mutation UpdateReview($input: UpdateReviewInput!) {
  updateReview(input: $input) { review { id } errors { code } }
}
"""
DELETE_REVIEW = """
mutation DeleteReview($id: ID!) { deleteReview(id: $id) { deletedId errors { code } } }
"""
HIDE_REVIEW = """
mutation HideReview($input: HideReviewInput!) {
  hideReview(input: $input) { review { id } errors { code } }
}
"""
UNHIDE_REVIEW = """
mutation UnhideReview($id: ID!) { unhideReview(id: $id) { review { id } errors { code } } }
"""
UPDATE_PROFILE = """
mutation UpdateProfile($input: UpdateProfileInput!) {
  updateProfile(input: $input) { user { id } errors { code } }
}
"""

Request = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class Shop:
    """Shoes > Running holds the Runner (product A, rated and reviewed); Shoes holds the Trail
    (product B); Bags, another category, holds the Tote."""

    shoes: Category
    running: Category
    bags: Category
    runner: Product
    trail: Product
    tote: Product
    author: User  # wrote `review`
    review: Review  # visible, of the Runner
    other_review: Review  # visible, of the Runner, by someone else
    hidden_author: User  # wrote `hidden`
    hidden: Review  # hidden by a moderator, of the Runner
    trail_review: Review
    tote_review: Review


@pytest.fixture
async def shop(client: httpx.AsyncClient) -> Shop:
    shoes = await make_category("Shoes")
    running = await make_category("Running", parent=shoes)
    bags = await make_category("Bags")
    runner = await make_product(running, name="Runner", ratings=[0, 0, 1, 1, 2])
    trail = await make_product(shoes, name="Trail", ratings=[0, 0, 0, 2, 1])
    tote = await make_product(bags, name="Tote", ratings=[1, 0, 0, 0, 3])
    author = await make_buyer_of(runner, name="Asha")
    review = await make_review(runner, author, rating=4, title="Comfortable")
    other_review = await make_review(
        runner, await make_buyer_of(runner, name="Ravi"), rating=3, title="Runs small"
    )
    hidden_author = await make_buyer_of(runner, name="Meera")
    hidden = await make_review(runner, hidden_author, rating=1, title="Buy elsewhere")
    moderator = await make_user(role=Role.ADMIN)
    await hide_in_database(stored_id(hidden), moderator_id=stored_id(moderator), reason="Spam")
    trail_review = await make_review(trail, rating=5, title="Great grip")
    tote_review = await make_review(tote, rating=2, title="Strap broke")
    return Shop(
        shoes=shoes,
        running=running,
        bags=bags,
        runner=runner,
        trail=trail,
        tote=tote,
        author=author,
        review=review,
        other_review=other_review,
        hidden_author=hidden_author,
        hidden=hidden,
        trail_review=trail_review,
        tote_review=tote_review,
    )


def by(field: str, **filters: str | float) -> dict[str, Any]:
    """Variables of a product list sorted by `field` with `filters`."""
    variables: dict[str, Any] = {"sortBy": {"field": field}}
    if filters:
        variables["filter"] = filters
    return variables


def storefront(shop: Shop) -> dict[str, Request]:
    """The anonymous reads every test warms, by name."""
    runner = {"slug": shop.runner.slug}
    shoes, running, bags = global_id(shop.shoes), global_id(shop.running), global_id(shop.bags)
    return {
        "a runner ratings": (PRODUCT_RATINGS, runner),
        "b runner reviews": (PRODUCT_REVIEWS, runner),
        "c runner name and price": (PRODUCT_BASICS, runner),
        "d trail page": (PRODUCT_PAGE, {"slug": shop.trail.slug}),
        "e shoes by name": (PRODUCT_NAMES, by("NAME", categoryId=shoes)),
        "f shoes by name with ratings": (PRODUCT_NAMES_AND_RATINGS, by("NAME", categoryId=shoes)),
        "g catalog by rating": (PRODUCT_NAMES, by("RATING")),
        "g shoes by rating": (PRODUCT_NAMES, by("RATING", categoryId=shoes)),
        "g running by rating": (PRODUCT_NAMES, by("RATING", subcategoryId=running)),
        "h min rating": (PRODUCT_NAMES, {"filter": {"minRating": 3.0}}),
        "i bags by rating": (PRODUCT_NAMES, by("RATING", categoryId=bags)),
        "j review node": (REVIEW_NODE, {"id": global_id(shop.review)}),
        "j other review node": (REVIEW_NODE, {"id": global_id(shop.other_review)}),
    }


# The reads that show the Runner's ratings, or are ordered or filtered by them.
SHOWING_RATINGS = {
    "a runner ratings",
    "f shoes by name with ratings",
    "g catalog by rating",
    "g shoes by rating",
    "g running by rating",
    "h min rating",
}
# The reads that show the Runner's page of reviews.
SHOWING_REVIEWS = {"b runner reviews"}
# The node read of `shop.review`, the review most writes below change.
SHOWING_THE_REVIEW = {"j review node"}


async def read(client: httpx.AsyncClient, request: Request) -> tuple[dict[str, Any], str]:
    """An anonymous storefront read: its data and `extensions.cache`."""
    query, variables = request
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    body = response.json()
    assert "errors" not in body, body
    return body["data"], body["extensions"]["cache"]


async def warm(client: httpx.AsyncClient, reads: dict[str, Request]) -> dict[str, Any]:
    """Run each read twice, check that the second one hit; the data of each."""
    data = {}
    for name, request in reads.items():
        first, first_status = await read(client, request)
        second, second_status = await read(client, request)
        assert (first_status, second_status) == ("MISS", "HIT"), name
        assert first == second, name
        data[name] = first
    return data


async def read_again(
    client: httpx.AsyncClient, reads: dict[str, Request]
) -> tuple[dict[str, str], dict[str, Any]]:
    """Each read once more: the status of each, and its data."""
    statuses, data = {}, {}
    for name, request in reads.items():
        data[name], statuses[name] = await read(client, request)
    return statuses, data


def expected(reads: dict[str, Request], missing: set[str]) -> dict[str, str]:
    """MISS for the reads in `missing`, HIT for every other."""
    assert missing <= reads.keys()
    return {name: "MISS" if name in missing else "HIT" for name in reads}


async def token_of(client: httpx.AsyncClient, user: User) -> str:
    token: str = (await login(client, user.email, DEFAULT_PASSWORD))["accessToken"]
    return token


async def write(
    client: httpx.AsyncClient, token: str, document: str, variables: dict[str, Any]
) -> dict[str, Any]:
    """A mutation that must succeed; its payload."""
    body = await graphql(client, document, variables, token=token)
    assert "errors" not in body, body
    (payload,) = body["data"].values()
    assert payload["errors"] == [], payload
    result: dict[str, Any] = payload
    return result


# The review writes, each made through the API by whoever may make it.
Write = Callable[[httpx.AsyncClient, Shop], Awaitable[None]]


async def create_review(client: httpx.AsyncClient, shop: Shop) -> None:
    buyer = await make_buyer_of(shop.runner, name="Kiran")
    new = {"productId": global_id(shop.runner), "rating": 1, "title": "Fell apart"}
    await write(client, await token_of(client, buyer), CREATE_REVIEW, {"input": new})


async def change_rating(client: httpx.AsyncClient, shop: Shop) -> None:
    changes = {"id": global_id(shop.review), "rating": 2}
    await write(client, await token_of(client, shop.author), UPDATE_REVIEW, {"input": changes})


async def delete_review(client: httpx.AsyncClient, shop: Shop) -> None:
    token = await token_of(client, shop.author)
    await write(client, token, DELETE_REVIEW, {"id": global_id(shop.review)})


async def hide_review(client: httpx.AsyncClient, shop: Shop) -> None:
    hiding = {"id": global_id(shop.review), "reason": "Not about the product"}
    await write(client, await admin_token(client), HIDE_REVIEW, {"input": hiding})


async def unhide_review(client: httpx.AsyncClient, shop: Shop) -> None:
    await write(client, await admin_token(client), UNHIDE_REVIEW, {"id": global_id(shop.hidden)})


async def change_title(client: httpx.AsyncClient, shop: Shop) -> None:
    changes = {"id": global_id(shop.review), "title": "Comfortable all day"}
    await write(client, await token_of(client, shop.author), UPDATE_REVIEW, {"input": changes})


def rating_count(data: dict[str, Any]) -> int:
    count: int = data["product"]["ratingCount"]
    return count


@pytest.mark.parametrize(
    ("write_review", "count_change", "review_node"),
    [
        pytest.param(create_review, +1, set(), id="createReview"),
        pytest.param(change_rating, 0, SHOWING_THE_REVIEW, id="updateReview-rating"),
        pytest.param(delete_review, -1, SHOWING_THE_REVIEW, id="deleteReview"),
        pytest.param(hide_review, -1, SHOWING_THE_REVIEW, id="hideReview"),
        pytest.param(unhide_review, +1, set(), id="unhideReview"),
    ],
)
async def test_a_write_that_changes_ratings_retires_the_ratings_and_reviews_of_its_product(
    client: httpx.AsyncClient,
    shop: Shop,
    write_review: Write,
    count_change: int,
    review_node: set[str],
) -> None:
    reads = storefront(shop)
    before = await warm(client, reads)

    await write_review(client, shop)

    statuses, after = await read_again(client, reads)
    assert statuses == expected(reads, SHOWING_RATINGS | SHOWING_REVIEWS | review_node)
    assert rating_count(after["a runner ratings"]) == (
        rating_count(before["a runner ratings"]) + count_change
    )
    assert after["a runner ratings"] != before["a runner ratings"]
    assert after["b runner reviews"] != before["b runner reviews"]


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"title": "Comfortable all day"}, id="title"),
        pytest.param({"body": "Six months in, still comfortable."}, id="body"),
    ],
)
async def test_a_text_edit_of_a_visible_review_retires_only_its_product_reviews_and_its_node(
    client: httpx.AsyncClient, shop: Shop, changes: dict[str, str]
) -> None:
    reads = storefront(shop)
    before = await warm(client, reads)

    token = await token_of(client, shop.author)
    await write(client, token, UPDATE_REVIEW, {"input": {"id": global_id(shop.review), **changes}})

    statuses, after = await read_again(client, reads)
    assert statuses == expected(reads, SHOWING_REVIEWS | SHOWING_THE_REVIEW)
    if "title" in changes:
        titles = [
            edge["node"]["title"]
            for edge in after["b runner reviews"]["product"]["reviews"]["edges"]
        ]
        assert "Comfortable all day" in titles
        assert after["j review node"] == {"node": {"title": "Comfortable all day"}}
    else:
        assert after == before


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"rating": 5}, id="rating"),
        pytest.param({"title": "Changed my mind"}, id="title"),
        pytest.param({"rating": 4, "body": "It grew on me."}, id="rating-and-body"),
    ],
)
async def test_an_edit_of_a_hidden_review_retires_no_public_read(
    client: httpx.AsyncClient, shop: Shop, changes: dict[str, Any]
) -> None:
    reads = storefront(shop)
    before = await warm(client, reads)

    token = await token_of(client, shop.hidden_author)
    await write(client, token, UPDATE_REVIEW, {"input": {"id": global_id(shop.hidden), **changes}})

    statuses, after = await read_again(client, reads)
    assert statuses == expected(reads, set())
    assert after == before


async def test_a_name_change_retires_the_reads_that_show_the_authors_reviews(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    reads = {
        **storefront(shop),
        "k review node with author": (REVIEW_NODE_WITH_AUTHOR, {"id": global_id(shop.review)}),
        "k other review node with author": (
            REVIEW_NODE_WITH_AUTHOR,
            {"id": global_id(shop.other_review)},
        ),
    }
    await warm(client, reads)

    token = await token_of(client, shop.author)
    await write(client, token, UPDATE_PROFILE, {"input": {"name": "Asha Rao"}})

    statuses, after = await read_again(client, reads)
    assert statuses == expected(reads, {"b runner reviews", "k review node with author"})
    edges = after["b runner reviews"]["product"]["reviews"]["edges"]
    assert "Asha Rao" in [edge["node"]["authorName"] for edge in edges]
    assert after["k review node with author"] == {
        "node": {"title": "Comfortable", "authorName": "Asha Rao"}
    }


async def test_a_profile_change_that_keeps_the_name_retires_nothing(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    reads = {
        **storefront(shop),
        "k review node with author": (REVIEW_NODE_WITH_AUTHOR, {"id": global_id(shop.review)}),
    }
    await warm(client, reads)

    token = await token_of(client, shop.author)
    await write(client, token, UPDATE_PROFILE, {"input": {"mobile": "9876543210"}})

    statuses, _ = await read_again(client, reads)
    assert statuses == expected(reads, set())


@pytest.mark.parametrize(
    "write_review",
    [
        pytest.param(create_review, id="createReview"),
        pytest.param(change_rating, id="updateReview-rating"),
        pytest.param(change_title, id="updateReview-title"),
        pytest.param(delete_review, id="deleteReview"),
        pytest.param(hide_review, id="hideReview"),
        pytest.param(unhide_review, id="unhideReview"),
    ],
)
async def test_a_review_write_leaves_a_product_of_another_category_untouched(
    client: httpx.AsyncClient, shop: Shop, settings: Settings, redis: Redis, write_review: Write
) -> None:
    tote = {"slug": shop.tote.slug}
    bags = global_id(shop.bags)
    reads: dict[str, Request] = {
        "tote page": (PRODUCT_PAGE, tote),
        "tote ratings": (PRODUCT_RATINGS, tote),
        "tote reviews": (PRODUCT_REVIEWS, tote),
        "tote name and price": (PRODUCT_BASICS, tote),
        "bags by name with ratings": (PRODUCT_NAMES_AND_RATINGS, by("NAME", categoryId=bags)),
        "bags by rating": (PRODUCT_NAMES, by("RATING", categoryId=bags)),
        "bags min rating": (PRODUCT_NAMES, {"filter": {"categoryId": bags, "minRating": 1.0}}),
        "tote review node": (REVIEW_NODE_WITH_AUTHOR, {"id": global_id(shop.tote_review)}),
    }
    await warm(client, reads)
    tag_prefix = f"{settings.redis_key_prefix}qc:tag:"
    versions_before = await tag_versions(redis, tag_prefix)

    await write_review(client, shop)

    versions_after = await tag_versions(redis, tag_prefix)
    statuses, _ = await read_again(client, reads)
    assert statuses == expected(reads, set())
    # Not one tag the Tote's entries depend on got a new version.
    retired = [
        tag for tag, version in versions_after.items() if versions_before.get(tag) != version
    ]
    assert retired, "the write retired no tag at all"
    tote_keys = {
        str(shop.tote.id),
        shop.tote.slug,
        str(shop.bags.id),
        str(shop.tote_review.id),
        str(shop.tote_review.author_id),
    }
    touched = [tag for tag in retired if any(key in tag for key in tote_keys)]
    assert touched == []


async def tag_versions(redis: Redis, tag_prefix: str) -> dict[str, bytes | None]:
    """Every cache tag in Redis and its version."""
    keys = [key async for key in redis.scan_iter(match=f"{tag_prefix}*")]
    versions = await redis.mget(keys) if keys else []
    return {key.decode(): version for key, version in zip(keys, versions, strict=True)}


async def resend_title(client: httpx.AsyncClient, shop: Shop) -> None:
    """The author saves the title the review already has."""
    same = {"id": global_id(shop.review), "title": shop.review.title}
    await write(client, await token_of(client, shop.author), UPDATE_REVIEW, {"input": same})


async def unhide_visible_review(client: httpx.AsyncClient, shop: Shop) -> None:
    """An admin unhides a review that is not hidden."""
    await write(client, await admin_token(client), UNHIDE_REVIEW, {"id": global_id(shop.review)})


@pytest.mark.parametrize(
    "write_review",
    [
        pytest.param(resend_title, id="updateReview-same-title"),
        pytest.param(unhide_visible_review, id="unhideReview-of-a-visible-review"),
    ],
)
async def test_a_write_that_changes_nothing_retires_nothing(
    client: httpx.AsyncClient, shop: Shop, write_review: Write
) -> None:
    reads = storefront(shop)
    before = await warm(client, reads)

    await write_review(client, shop)

    statuses, after = await read_again(client, reads)
    assert after == before
    assert statuses == expected(reads, set())
