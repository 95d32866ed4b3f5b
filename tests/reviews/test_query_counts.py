"""A product page with its reviews, and a list of products with theirs, cost a constant number of
MongoDB commands however many reviews there are: authors and review pages load in batches."""

from __future__ import annotations

from typing import Any

import httpx

from documents.catalog import Category, Product
from tests.factories import global_id, make_category, make_product, make_review
from tests.support import MongoCommandCounter, graphql

PRODUCT_PAGE = """
query ProductPage($slug: String!) {
  product(slug: $slug) {
    name ratingAverage ratingCount ratingHistogram { stars count }
    reviews(first: 20) {
      pageInfo { hasNextPage endCursor }
      edges { node { authorName rating title body createdAt verifiedPurchase } }
    }
  }
}
"""
PRODUCT_LIST = """
query ProductList($categoryId: ID!) {
  products(first: 10, filter: {categoryId: $categoryId}) {
    edges { node { name ratingAverage reviews(first: 3) { edges { node { authorName rating } } } } }
  }
}
"""


async def product_with_reviews(category: Category, count: int) -> Product:
    product = await make_product(category)
    for n in range(count):
        await make_review(product, rating=n % 5 + 1)
    return product


async def commands_of(
    client: httpx.AsyncClient,
    mongo_commands: MongoCommandCounter,
    query: str,
    variables: dict[str, Any],
) -> tuple[dict[str, Any], list[str]]:
    """The answer to a query read from MongoDB (not from the result cache) and its commands."""
    mongo_commands.reset()
    body = await graphql(client, query, variables)
    assert "errors" not in body, body
    assert body["extensions"]["cache"] == "MISS"
    return body["data"], mongo_commands.commands


async def test_a_product_page_with_20_reviews_and_their_authors_costs_three_commands(
    client: httpx.AsyncClient, mongo_commands: MongoCommandCounter
) -> None:
    category = await make_category()
    few = await product_with_reviews(category, 5)
    many = await product_with_reviews(category, 25)

    few_page, few_commands = await commands_of(
        client, mongo_commands, PRODUCT_PAGE, {"slug": few.slug}
    )
    many_page, many_commands = await commands_of(
        client, mongo_commands, PRODUCT_PAGE, {"slug": many.slug}
    )

    assert len(few_page["product"]["reviews"]["edges"]) == 5
    assert len(many_page["product"]["reviews"]["edges"]) == 20
    assert (
        len({edge["node"]["authorName"] for edge in many_page["product"]["reviews"]["edges"]}) == 20
    )
    # The product by slug, the page of reviews, and every author of the page in one batch.
    assert few_commands == ["find", "aggregate", "find"]
    assert many_commands == few_commands


async def test_a_product_list_with_each_products_first_reviews_costs_the_same_for_more_products(
    client: httpx.AsyncClient, mongo_commands: MongoCommandCounter
) -> None:
    small, large = await make_category(), await make_category()
    for _ in range(2):
        await product_with_reviews(small, 3)
    for n in range(10):
        await product_with_reviews(large, n % 4 + 2)

    small_list, small_commands = await commands_of(
        client, mongo_commands, PRODUCT_LIST, {"categoryId": global_id(small)}
    )
    large_list, large_commands = await commands_of(
        client, mongo_commands, PRODUCT_LIST, {"categoryId": global_id(large)}
    )

    assert len(small_list["products"]["edges"]) == 2
    assert len(large_list["products"]["edges"]) == 10
    assert [len(edge["node"]["reviews"]["edges"]) for edge in large_list["products"]["edges"]] == [
        min(n % 4 + 2, 3) for n in reversed(range(10))
    ]
    # The page of products, every product's page of reviews ($unionWith), every author.
    assert small_commands == ["aggregate", "aggregate", "find"]
    assert large_commands == small_commands
    reviews_command = next(
        command
        for name, command in mongo_commands.sent
        if name == "aggregate" and command["aggregate"] == "reviews"
    )
    union = [stage for stage in reviews_command["pipeline"] if "$unionWith" in stage]
    assert len(union) == 9
