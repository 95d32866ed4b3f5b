"""GraphiQL, introspection and "Did you mean ...?" suggestions: on in development, off in
production, each switched either way by its own setting (GRAPHIQL, INTROSPECTION,
FIELD_SUGGESTIONS)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from settings import Environment, Settings
from tests.support import app_sharing_services, error_codes

SCHEMA = "{ __schema { queryType { name } } }"
TYPE = '{ __type(name: "Product") { name } }'
TYPENAME = "{ __typename }"
MISSPELT_FIELD = "{ prodcts { totalCount } }"
MISSPELT_ARGUMENT = "{ products(firts: 1) { totalCount } }"
MISSPELT_INPUT_FIELD = '{ products(filter: {brnd: "Acme"}) { totalCount } }'
MISSPELT_TYPE = "query($sort: ProductSortInpt) { products(sortBy: $sort) { totalCount } }"
SORTED = "query($sort: ProductSortInput) { products(sortBy: $sort) { totalCount } }"
MISSPELT_ENUM_VALUE = (SORTED, {"sort": {"field": "PRICES"}})
MISTAKES: list[tuple[str, dict[str, Any]]] = [
    (MISSPELT_FIELD, {}),
    (MISSPELT_ARGUMENT, {}),
    (MISSPELT_INPUT_FIELD, {}),
    (MISSPELT_TYPE, {}),
    MISSPELT_ENUM_VALUE,
]

Client = Callable[..., Any]


@pytest.fixture
def client_with(app: Starlette, settings: Settings) -> Client:
    """A client of an app built with `settings` changed by `changes`."""

    @asynccontextmanager
    async def client(**changes: Any) -> AsyncIterator[httpx.AsyncClient]:
        configured = app_sharing_services(settings.model_copy(update=changes), app)
        transport = httpx.ASGITransport(app=configured)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http

    return client


async def post(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def graphiql_status(client: httpx.AsyncClient) -> int:
    return (await client.get("/graphql", headers={"accept": "text/html"})).status_code


async def messages_of_mistakes(client: httpx.AsyncClient) -> list[str]:
    messages = []
    for query, variables in MISTAKES:
        body = await post(client, query, **variables)
        assert body.get("data") is None, body
        assert error_codes(body)[0] in ("GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT"), body
        messages.append(body["errors"][0]["message"])
    return messages


async def test_production_serves_no_graphiql_introspection_or_suggestions(
    client_with: Client,
) -> None:
    async with client_with(environment=Environment.PRODUCTION) as client:
        page = await client.get("/graphql", headers={"accept": "text/html"})
        schema = await post(client, SCHEMA)
        named_type = await post(client, TYPE)
        typename = await post(client, TYPENAME)
        messages = await messages_of_mistakes(client)

    assert page.status_code == 404
    assert page.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert page.json()["errors"][0]["message"].startswith("GraphiQL is not served: GRAPHIQL is off")
    assert page.headers["cache-control"] == "private, no-store"
    assert set(error_codes(schema) + error_codes(named_type)) == {"GRAPHQL_VALIDATION_FAILED"}
    assert "introspection has been disabled" in schema["errors"][0]["message"]
    assert schema.get("data") is None
    assert typename["data"] == {"__typename": "Query"}
    assert messages == [
        "Cannot query field 'prodcts' on type 'Query'.",
        "Unknown argument 'firts' on field 'Query.products'.",
        "Expected value of type 'ProductFilter' not to include unknown field 'brnd'.",
        "Unknown type 'ProductSortInpt'.",
        "Variable '$sort' has invalid value at .field:"
        " Value 'PRICES' does not exist in 'ProductSortField' enum.",
    ]


async def test_production_serves_each_when_its_setting_says_so(client_with: Client) -> None:
    async with client_with(
        environment=Environment.PRODUCTION,
        graphiql=True,
        introspection=True,
        field_suggestions=True,
    ) as client:
        page_status = await graphiql_status(client)
        schema = await post(client, SCHEMA)
        messages = await messages_of_mistakes(client)

    assert page_status == 200
    assert schema["data"] == {"__schema": {"queryType": {"name": "Query"}}}
    assert all("Did you mean" in message for message in messages), messages


@pytest.mark.parametrize("environment", [Environment.DEVELOPMENT, Environment.TEST])
async def test_outside_production_all_three_are_on(
    client_with: Client, environment: Environment
) -> None:
    async with client_with(environment=environment) as client:
        page_status = await graphiql_status(client)
        named_type = await post(client, TYPE)
        messages = await messages_of_mistakes(client)

    assert page_status == 200
    assert named_type["data"] == {"__type": {"name": "Product"}}
    assert (
        messages[0]
        == "Cannot query field 'prodcts' on type 'Query'. Did you mean 'products' or 'product'?"
    )
    assert all("Did you mean" in message for message in messages), messages


async def test_development_can_switch_each_off(client_with: Client) -> None:
    async with client_with(
        environment=Environment.DEVELOPMENT,
        graphiql=False,
        introspection=False,
        field_suggestions=False,
    ) as client:
        page_status = await graphiql_status(client)
        schema = await post(client, SCHEMA)
        messages = await messages_of_mistakes(client)

    assert page_status == 404
    assert set(error_codes(schema)) == {"GRAPHQL_VALIDATION_FAILED"}
    assert not any("Did you mean" in message for message in messages), messages


def test_the_settings_default_by_environment() -> None:
    production = Settings(
        _env_file=None,  # type: ignore[call-arg]
        environment=Environment.PRODUCTION,
        mongodb_uri="mongodb://db/?replicaSet=rs0",
        redis_url="redis://cache/0",
        jwt_secret="p" * 40,
        frontend_url="https://shop.example",
    )
    enabled = production.model_copy(
        update={"graphiql": True, "introspection": True, "field_suggestions": True}
    )
    development = Settings(_env_file=None)  # type: ignore[call-arg]

    assert (production.serves_graphiql, production.allows_introspection) == (False, False)
    assert production.suggests_fields is False
    assert (enabled.serves_graphiql, enabled.allows_introspection) == (True, True)
    assert enabled.suggests_fields is True
    assert (development.serves_graphiql, development.allows_introspection) == (True, True)
    assert development.suggests_fields is True
