"""Every query the review API sends is answered from an index, in the index's order.

Each list of reviews is requested through the API in every sort, with and without cursors in both
directions; the MongoDB commands it produced are captured and explained.
"""

from __future__ import annotations

from typing import Any

import httpx
from starlette.applications import Starlette

from documents.accounts import Role, User
from documents.catalog import Product
from documents.common import stored_id
from documents.orders import OrderStatus
from documents.reviews import Review, hide_review
from tests.factories import (
    global_id,
    make_category,
    make_order,
    make_product,
    make_review,
    make_user,
)
from tests.support import (
    MongoCommandCounter,
    access_token_for,
    explain_all,
    graphql,
    winning_indexes,
    winning_stages,
)

PAGE = "totalCount pageInfo { startCursor endCursor } edges { node { id title } }"
PRODUCT_REVIEWS = f"""
query ProductReviews($slug: String!, $sortBy: ReviewSortOrder!, $first: Int, $after: String,
                     $last: Int, $before: String) {{
  product(slug: $slug) {{
    reviews(sortBy: $sortBy, first: $first, after: $after, last: $last, before: $before) {{
      {PAGE}
    }}
  }}
}}
"""
MY_REVIEWS = f"""
query MyReviews($first: Int, $after: String, $last: Int, $before: String) {{
  me {{ reviews(first: $first, after: $after, last: $last, before: $before) {{ {PAGE} }} }}
}}
"""
USER_REVIEWS = f"""
query UserReviews($id: ID!, $first: Int, $after: String) {{
  node(id: $id) {{ ... on User {{ reviews(first: $first, after: $after) {{ {PAGE} }} }} }}
}}
"""
MODERATION = f"""
query Moderation($filter: ReviewFilter, $first: Int, $after: String, $last: Int, $before: String) {{
  reviews(filter: $filter, first: $first, after: $after, last: $last, before: $before) {{ {PAGE} }}
}}
"""
LIST_WITH_REVIEWS = """
{ products(first: 10) { edges { node { name reviews(first: 3, sortBy: HIGHEST) {
  edges { node { authorName } } } } } } }
"""
REVIEW_NODE = "query Node($id: ID!) { node(id: $id) { ... on Review { title authorName } } }"

# Each sort of a product's reviews and the index that serves it in order.
SORT_INDEXES = {
    "NEWEST": "product_newest",
    "HIGHEST": "product_highest",
    "LOWEST": "product_lowest",
}


async def every_page_of(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any],
    connection: list[str],
    *,
    token: str | None = None,
    size: int = 4,
) -> None:
    """Request the first page, the next one by its cursor, and the page before that one."""

    async def page(**arguments: Any) -> dict[str, Any]:
        body = await graphql(client, query, {**variables, **arguments}, token=token)
        assert "errors" not in body, body
        found: Any = body["data"]
        for name in connection:
            found = found[name]
        assert found["edges"], (variables, arguments)
        result: dict[str, Any] = found["pageInfo"]
        return result

    first = await page(first=size)
    second = await page(first=size, after=first["endCursor"])
    await page(last=size, before=second["startCursor"])


async def reviewed_catalog() -> tuple[list[Product], User]:
    """Three products with many reviews each, some hidden; one author reviewed all three."""
    category = await make_category()
    products = [await make_product(category, ratings=[1, 2, 3, 4, 5]) for _ in range(3)]
    moderator_id = stored_id(await make_user(role=Role.ADMIN))
    author = await make_user(name="Prolific")
    for product in products:
        await make_order(author, (product, 1), status=OrderStatus.DELIVERED)
        await make_review(product, author=author, rating=3)
        for n in range(12):
            await make_review(product, rating=n % 5 + 1, title=f"review {n}")
    for review in await Review.find({"title": {"$in": ["review 0", "review 5"]}}).to_list():
        await hide_review(stored_id(review), moderator_id=moderator_id, reason="Spam")
    return products, author


async def test_every_review_list_in_every_sort_and_direction_uses_an_index(
    app: Starlette, client: httpx.AsyncClient, mongo_commands: MongoCommandCounter
) -> None:
    products, author = await reviewed_catalog()
    admin = await make_user(role=Role.ADMIN)
    author_token = await access_token_for(app, author)
    admin_token = await access_token_for(app, admin)
    some_review = await Review.find_one({"hidden": False})
    assert some_review is not None
    mongo_commands.reset()

    for sort_by in SORT_INDEXES:
        await every_page_of(
            client,
            PRODUCT_REVIEWS,
            {"slug": products[0].slug, "sortBy": sort_by},
            ["product", "reviews"],
        )
    # The author's three reviews, one to a page.
    await every_page_of(client, MY_REVIEWS, {}, ["me", "reviews"], token=author_token, size=1)
    await every_page_of(
        client,
        USER_REVIEWS,
        {"id": global_id(author)},
        ["node", "reviews"],
        token=admin_token,
        size=1,
    )
    for review_filter in (
        None,
        {"productId": global_id(products[1])},
        {"hidden": True},
        {"hidden": False},
        {"productId": global_id(products[2]), "hidden": True},
        {"productId": global_id(products[2]), "hidden": False},
    ):
        await every_page_of(
            client, MODERATION, {"filter": review_filter}, ["reviews"], token=admin_token, size=1
        )
    await graphql(client, LIST_WITH_REVIEWS)
    await graphql(client, REVIEW_NODE, {"id": global_id(some_review)})

    explained = await explain_all(Review.get_pymongo_collection().database, mongo_commands.sent)
    review_pages = [
        (body, explain)
        for body, explain in explained
        if body.get("aggregate") == "reviews"
        and any("$sort" in stage for stage in body["pipeline"])
    ]
    # Three pages of each sort, of mine, of a user's, and of each moderation filter; the list.
    assert len(review_pages) == 3 * (len(SORT_INDEXES) + 2 + 6) + 1
    for body, explain in review_pages:
        assert "SORT" not in winning_stages(explain), body


async def test_each_sort_of_a_products_reviews_reads_its_own_index(
    client: httpx.AsyncClient, mongo_commands: MongoCommandCounter
) -> None:
    products, _ = await reviewed_catalog()

    for sort_by, index in SORT_INDEXES.items():
        mongo_commands.reset()
        await every_page_of(
            client,
            PRODUCT_REVIEWS,
            {"slug": products[0].slug, "sortBy": sort_by},
            ["product", "reviews"],
        )
        explained = await explain_all(Review.get_pymongo_collection().database, mongo_commands.sent)

        pages = [explain for body, explain in explained if body.get("aggregate") == "reviews"]
        assert len(pages) == 3
        assert [winning_indexes(explain) for explain in pages] == [{index}] * 3, (
            sort_by,
            [winning_stages(e) for e in pages],
        )


async def test_every_declared_review_index_exists(app: Starlette) -> None:
    declared = {index.document["name"] for index in Review.Settings.indexes}

    existing = set(await Review.get_pymongo_collection().index_information())

    assert declared - existing == set()
