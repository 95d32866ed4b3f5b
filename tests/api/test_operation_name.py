"""Which operation of a document runs: the one `operationName` names, or the only one. Several
operations and no name is BAD_REQUEST (HTTP 400), as the GraphQL specification says, and is
neither run nor cached."""

from __future__ import annotations

from typing import Any

import httpx

from documents.accounts import User
from tests.factories import make_category, make_product

REGISTER_THEN_COUNT = """
mutation Register {
  register(input: {email: "mallory@example.com", password: "a good passphrase", name: "M"}) {
    errors { code }
  }
}
query Count { products { totalCount } }
"""
TWO_QUERIES = """
query Count { products { totalCount } }
query Names { products { edges { node { name } } } }
"""


async def post(client: httpx.AsyncClient, query: str, **fields: Any) -> httpx.Response:
    return await client.post("/graphql", json={"query": query, **fields})


def bad_request_message(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "BAD_REQUEST"}
    message: str = error["message"]
    return message


async def test_several_operations_without_a_name_are_a_bad_request_and_none_runs(
    client: httpx.AsyncClient,
) -> None:
    response = await post(client, REGISTER_THEN_COUNT)

    assert "operationName" in bad_request_message(response)
    assert await User.count() == 0


async def test_several_operations_over_get_without_a_name_are_a_bad_request(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/graphql", params={"query": TWO_QUERIES})

    assert "operationName" in bad_request_message(response)


async def test_the_named_operation_runs(client: httpx.AsyncClient) -> None:
    await make_product(await make_category("Shoes"), name="Runner")

    count = await post(client, TWO_QUERIES, operationName="Count")
    names = await post(client, TWO_QUERIES, operationName="Names")

    assert count.json()["data"] == {"products": {"totalCount": 1}}
    assert names.json()["data"] == {"products": {"edges": [{"node": {"name": "Runner"}}]}}


async def test_an_unknown_operation_name_is_a_bad_request(client: httpx.AsyncClient) -> None:
    several = await post(client, REGISTER_THEN_COUNT, operationName="Delete")
    single = await post(client, "query Count { products { totalCount } }", operationName="Other")

    assert bad_request_message(several) == 'Unknown operation named "Delete".'
    assert bad_request_message(single) == 'Unknown operation named "Other".'
    assert await User.count() == 0


async def test_a_single_operation_needs_no_name(client: httpx.AsyncClient) -> None:
    named = await post(client, "query Count { products { totalCount } }")
    anonymous = await post(client, "{ products { totalCount } }")

    assert named.json()["data"] == anonymous.json()["data"] == {"products": {"totalCount": 0}}


async def test_a_refused_document_is_neither_cached_nor_served_from_the_cache(
    client: httpx.AsyncClient,
) -> None:
    refused = await post(client, TWO_QUERIES)
    first = await post(client, TWO_QUERIES, operationName="Count")
    second = await post(client, TWO_QUERIES, operationName="Count")
    refused_again = await post(client, TWO_QUERIES)

    bad_request_message(refused)
    assert first.json()["extensions"]["cache"] == "MISS"
    assert second.json()["extensions"]["cache"] == "HIT"
    assert second.json()["data"] == {"products": {"totalCount": 0}}
    bad_request_message(refused_again)
