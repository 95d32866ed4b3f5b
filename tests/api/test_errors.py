"""Every failure is a GraphQL error with `extensions.code`; never a 500 or a stack trace."""

from __future__ import annotations

import logging

import httpx
import pytest
from graphql import parse
from starlette.applications import Starlette

from documents.catalog import Product
from documents.demo_images import DEMO_IMAGE_PATH, DemoImage
from schema.validation import field_count
from tests.factories import make_category, make_product
from tests.support import MongoCommandCounter, error_codes, graphql

# `b.orders` fails (only admins see a product's orders), so GraphQL-core cancels `b.category`,
# which waits on the same category as `a.category`.
FAILING_FIELD_BESIDE_A_SHARED_LOAD = """
query ($slug: String!) {
  a: product(slug: $slug) { category { name } }
  b: product(slug: $slug) { category { name } orders(last: 1) { totalCount } }
}
"""


async def test_a_syntax_error_is_graphql_parse_failed(client: httpx.AsyncClient) -> None:
    body = await graphql(client, "{ products(first: 1 { totalCount } }")

    assert error_codes(body) == ["GRAPHQL_PARSE_FAILED"]
    assert "Syntax Error" in body["errors"][0]["message"]


async def test_an_unknown_field_is_graphql_validation_failed(client: httpx.AsyncClient) -> None:
    body = await graphql(client, "{ products { totalCount secretField } }")

    assert error_codes(body) == ["GRAPHQL_VALIDATION_FAILED"]
    assert "secretField" in body["errors"][0]["message"]


async def test_a_wrongly_typed_literal_argument_is_a_validation_error(
    client: httpx.AsyncClient,
) -> None:
    body = await graphql(client, '{ products(first: "ten") { totalCount } }')

    assert error_codes(body) == ["GRAPHQL_VALIDATION_FAILED"]


async def test_a_too_deep_query_is_query_too_complex(client: httpx.AsyncClient) -> None:
    nested = "subcategories { " * 12 + "name" + " }" * 12
    body = await graphql(client, f"{{ categories {{ edges {{ node {{ {nested} }} }} }} }}")

    assert error_codes(body) == ["QUERY_TOO_COMPLEX"]


async def test_a_body_that_is_not_json_is_a_bad_request_with_a_code(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/graphql", content=b"{not json", headers={"content-type": "application/json"}
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


@pytest.mark.parametrize(
    "body", [b'"x"', b"null", b"5", b"true", b"[]", b"[1]", b'{"query": "{ __typename }"\xff}']
)
async def test_a_body_that_is_not_a_json_object_is_a_bad_request(
    client: httpx.AsyncClient, body: bytes
) -> None:
    response = await client.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert response.headers["x-request-id"]


async def test_too_many_aliases_or_tokens_is_query_too_complex(client: httpx.AsyncClient) -> None:
    aliases = " ".join(f"a{n}: __typename" for n in range(31))
    tokens = "{ " + "__typename " * 5000 + "}"

    assert error_codes(await graphql(client, f"{{ {aliases} }}")) == ["QUERY_TOO_COMPLEX"]
    assert error_codes(await graphql(client, tokens)) == ["QUERY_TOO_COMPLEX"]


async def test_a_page_selected_hundreds_of_times_is_refused_before_validation(
    client: httpx.AsyncClient, mongo_commands: MongoCommandCounter
) -> None:
    # Within MAX_TOKENS, yet checking that its fields can merge is quadratic: about a second of
    # CPU, before the cost limit could refuse it.
    pages = " ".join(
        f"products(first: 100) {{ edges {{ node {{ n{n}: name }} }} }}" for n in range(200)
    )
    mongo_commands.reset()

    body = await graphql(client, f"{{ {pages} }}")

    assert error_codes(body) == ["QUERY_TOO_COMPLEX"]
    assert body["errors"][0]["extensions"]["fields"] == 800
    assert body["errors"][0]["extensions"]["maxFields"] == 250
    assert mongo_commands.commands == []


def test_fields_are_counted_once_wherever_they_sit() -> None:
    document = parse(
        'query Q { ...Top product(slug: "a") { ... on Product { name } id } } '
        "fragment Top on Query { categories { totalCount } }"
    )

    # product, name, id, categories, totalCount
    assert field_count(document) == 5


async def test_a_request_without_a_query_is_a_bad_request(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"variables": {}})

    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_queries_work_over_get(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": "{ products { totalCount } }"})

    assert response.status_code == 200
    assert response.json()["data"] == {"products": {"totalCount": 0}}


async def test_a_server_fault_is_masked_and_logged_under_the_request_id(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    shoes = await make_category("Shoes")
    product = await make_product(shoes, slug="orphan")
    # Break a reference behind the API's back: the category no longer exists.
    await shoes.delete()
    assert await Product.get(product.id) is not None

    with caplog.at_level(logging.ERROR, logger="commerce.graphql"):
        response = await client.post(
            "/graphql",
            json={"query": '{ product(slug: "orphan") { name category { name } } }'},
            headers={"x-request-id": "req-123"},
        )

    body = response.json()
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "req-123"
    assert body["data"] == {"product": None}
    assert body["errors"][0]["message"] == "Internal server error"
    assert body["errors"][0]["extensions"] == {
        "code": "INTERNAL_SERVER_ERROR",
        "requestId": "req-123",
    }
    assert "missing category" not in response.text
    assert "Traceback" not in response.text
    assert any("req-123" in record.getMessage() for record in caplog.records)
    assert any(record.exc_info for record in caplog.records)


async def test_a_failing_field_does_not_fail_another_waiting_on_the_same_document(
    client: httpx.AsyncClient,
) -> None:
    shoes = await make_category("Shoes")
    await make_product(shoes, slug="boot")

    body = await graphql(client, FAILING_FIELD_BESIDE_A_SHARED_LOAD, {"slug": "boot"})

    assert body["data"] == {"a": {"category": {"name": "Shoes"}}, "b": None}
    assert error_codes(body) == ["UNAUTHENTICATED"]
    assert body["errors"][0]["path"] == ["b", "orders"]


async def test_an_unsafe_request_id_is_replaced(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/healthz", headers={"x-request-id": "bad id\twith spaces and <tags>"}
    )

    assert response.headers["x-request-id"] != "bad id\twith spaces and <tags>"
    assert len(response.headers["x-request-id"]) == 32


def test_input_coercion_errors_are_the_clients_to_fix() -> None:
    from graphql import GraphQLError
    from strawberry.exceptions import StrawberryInputCoercionError

    from schema.errors import error_code

    error = GraphQLError("bad input", path=["x"], original_error=StrawberryInputCoercionError("no"))

    assert error_code(error) == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    "content_type",
    ["multipart/form-data; boundary=x", "multipart/form-data"],
    ids=["garbled", "no-boundary"],
)
async def test_a_malformed_multipart_request_is_a_bad_request(
    client: httpx.AsyncClient, content_type: str
) -> None:
    response = await client.post(
        "/graphql",
        content=b"x" * 64,
        headers={"content-type": content_type, "apollo-require-preflight": "1"},
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_an_unexpected_error_on_any_route_is_a_masked_json_500_with_the_headers(
    app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_drawing(self: DemoImage) -> str:
        raise RuntimeError("a bug")

    monkeypatch.setattr(DemoImage, "svg", broken_drawing)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.get(f"{DEMO_IMAGE_PATH}?w=40&h=30&color=336699&text=Shoe")

    assert response.status_code == 500
    assert response.json()["errors"][0]["extensions"] == {
        "code": "INTERNAL_SERVER_ERROR",
        "requestId": response.headers["x-request-id"],
    }
    assert "a bug" not in response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


async def test_an_unknown_path_is_a_json_404_no_cache_keeps(client: httpx.AsyncClient) -> None:
    for path in ("/no-such-route", "/media/no-such-image.png"):
        response = await client.get(path)

        assert response.status_code == 404, path
        assert response.json() == {
            "errors": [{"message": "Not Found", "extensions": {"code": "NOT_FOUND"}}]
        }
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-request-id"]
