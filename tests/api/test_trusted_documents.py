"""Trusted documents: the operations of an Apollo persisted-query manifest run by id, as the
GraphQL-over-HTTP `documentId` (POST and GET) or APQ's hash; with TRUSTED_DOCUMENTS_ONLY nothing
else runs, GraphiQL is not served and introspection runs only if the manifest has it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from starlette.applications import Starlette

from documents.accounts import User
from resolvers.persisted_queries import document_hash
from settings import Environment, Settings
from tests.api.test_persisted_queries import (
    EXPENSIVE,
    PRODUCT_NAMES,
    REGISTER,
    TWO_QUERIES,
    UNKNOWN_HASH,
    get_by_hash,
    not_found,
    post_by_hash,
    register,
    stored_keys,
)
from tests.factories import make_category, make_product
from tests.support import MongoCommandCounter, app_sharing_services, client_at, error_codes

PRODUCT_BY_SLUG = "query Product($slug: String!) { product(slug: $slug) { name } }"
SCHEMA = "query Schema { __schema { queryType { name } } }"
TYPE = 'query Type { __type(name: "Product") { name } }'
MANIFEST_DOCUMENTS = (PRODUCT_NAMES, PRODUCT_BY_SLUG, TWO_QUERIES, REGISTER, EXPENSIVE, SCHEMA)
PUBLIC = "public, max-age=60, stale-while-revalidate=300"


def manifest(*bodies: str) -> dict[str, Any]:
    operations = [
        {"id": document_hash(body), "body": body, "name": f"Operation{number}", "type": "query"}
        for number, body in enumerate(bodies)
    ]
    return {"format": "apollo-persisted-query-manifest", "version": 1, "operations": operations}


def document_id(body: str) -> str:
    return f"sha256:{document_hash(body)}"


@pytest.fixture
def manifest_path(tmp_path: Path) -> Path:
    path = tmp_path / "persisted-query-manifest.json"
    path.write_text(json.dumps(manifest(*MANIFEST_DOCUMENTS)))
    return path


@pytest.fixture
def trusted_client(app: Starlette, settings: Settings, manifest_path: Path) -> Any:
    """A client of an app with the manifest, its settings changed by `changes`."""

    @asynccontextmanager
    async def client(**changes: Any) -> AsyncIterator[httpx.AsyncClient]:
        update = {"trusted_documents_manifest": manifest_path, **changes}
        configured = app_sharing_services(settings.model_copy(update=update), app)
        async with client_at(configured, "127.0.0.1") as http:
            yield http

    return client


@pytest.fixture
async def with_manifest(trusted_client: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with trusted_client() as http:
        yield http


@pytest.fixture
async def trusted_only(trusted_client: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with trusted_client(trusted_documents_only=True) as http:
        yield http


async def post_document(client: httpx.AsyncClient, identifier: object, **fields: Any) -> Any:
    return await client.post("/graphql", json={"documentId": identifier, **fields})


async def get_document(client: httpx.AsyncClient, identifier: str, **params: str) -> Any:
    return await client.get("/graphql", params={"documentId": identifier, **params})


def refused(response: httpx.Response, status: int, code: str) -> str:
    """The message of the one error of a refusal with `status` and `code`."""
    assert response.status_code == status, response.text
    assert response.headers["cache-control"] == "private, no-store"
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": code}
    message: str = error["message"]
    return message


async def test_a_document_id_runs_the_manifest_document_over_post_and_get(
    with_manifest: httpx.AsyncClient,
) -> None:
    await make_product(await make_category("Shoes"), name="Runner", slug="runner")
    variables = {"slug": "runner"}

    by_post = await post_document(with_manifest, document_id(PRODUCT_BY_SLUG), variables=variables)
    by_get = await get_document(
        with_manifest, document_id(PRODUCT_BY_SLUG), variables=json.dumps(variables)
    )
    bare_hex = await post_document(
        with_manifest, document_hash(PRODUCT_BY_SLUG), variables=variables
    )

    assert by_post.status_code == 200, by_post.text
    assert by_post.json()["data"] == {"product": {"name": "Runner"}}
    assert by_get.json()["data"] == {"product": {"name": "Runner"}}
    assert bare_hex.json()["data"] == {"product": {"name": "Runner"}}


async def test_an_apq_hash_finds_manifest_documents_without_registering_them(
    with_manifest: httpx.AsyncClient, redis: Redis, settings: Settings
) -> None:
    sha256_hash = document_hash(PRODUCT_NAMES)

    by_post = await post_by_hash(with_manifest, sha256_hash)
    by_get = await get_by_hash(with_manifest, sha256_hash)
    with_its_text = await register(with_manifest, PRODUCT_NAMES)

    assert by_post.json()["data"] == {"products": {"edges": []}}
    assert by_get.json()["data"] == {"products": {"edges": []}}
    assert with_its_text.json()["data"] == {"products": {"edges": []}}
    assert await stored_keys(redis, settings) == []


async def test_without_trusted_only_unknown_ids_are_not_found_and_apq_documents_run_by_id(
    with_manifest: httpx.AsyncClient,
) -> None:
    query = "query Count { products { totalCount } }"
    unknown = await post_document(with_manifest, f"sha256:{UNKNOWN_HASH}")
    before = await get_document(with_manifest, document_id(query))
    registered = await register(with_manifest, query)
    after = await get_document(with_manifest, document_id(query))
    full_text = await with_manifest.post("/graphql", json={"query": "{ __typename }"})

    assert not_found(unknown)
    assert not_found(before)
    assert registered.json()["data"] == {"products": {"totalCount": 0}}
    assert after.json()["data"] == {"products": {"totalCount": 0}}
    assert full_text.json()["data"] == {"__typename": "Query"}


@pytest.mark.parametrize(
    ("identifier", "reason"),
    [
        (123, "must be a string"),
        ("", "must be sha256:<64 lowercase hex digits>"),
        (f"sha256:{document_hash(PRODUCT_NAMES).upper()}", "must be sha256:"),
        (f"sha256:{document_hash(PRODUCT_NAMES)[:40]}", "must be sha256:"),
        ("md5:0cc175b9c0f1b6a831c399e269772661", "prefix 'md5' is not supported"),
        ("x-custom:products", "prefix 'x-custom' is not supported"),
        ("products-page", "must be sha256:"),
    ],
)
async def test_a_malformed_document_id_is_a_bad_request(
    with_manifest: httpx.AsyncClient, identifier: object, reason: str
) -> None:
    response = await post_document(with_manifest, identifier)

    assert reason in refused(response, 400, "BAD_REQUEST")


async def test_a_document_id_with_a_document_or_another_id_is_a_bad_request(
    with_manifest: httpx.AsyncClient,
) -> None:
    identifier = document_id(PRODUCT_NAMES)
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": document_hash(PRODUCT_NAMES)}}

    with_query = await post_document(with_manifest, identifier, query=PRODUCT_NAMES)
    with_hash = await post_document(with_manifest, identifier, extensions=persisted)
    by_get = await get_document(with_manifest, identifier, query=PRODUCT_NAMES)

    assert refused(with_query, 400, "BAD_REQUEST") == "Send either documentId or query, not both"
    assert "not both" in refused(with_hash, 400, "BAD_REQUEST")
    assert "not both" in refused(by_get, 400, "BAD_REQUEST")


async def test_a_mutation_by_document_id_runs_over_post_and_is_refused_over_get(
    with_manifest: httpx.AsyncClient,
) -> None:
    over_get = await get_document(with_manifest, document_id(REGISTER))
    users_after_get = await User.count()
    over_post = await post_document(with_manifest, document_id(REGISTER))

    assert "GET" in refused(over_get, 400, "BAD_REQUEST")
    assert users_after_get == 0
    assert over_post.json()["data"] == {"register": {"errors": []}}
    assert await User.count() == 1


async def test_the_operation_name_rule_and_query_cost_apply_to_manifest_documents(
    with_manifest: httpx.AsyncClient,
) -> None:
    without_name = await get_document(with_manifest, document_id(TWO_QUERIES))
    named = await get_document(with_manifest, document_id(TWO_QUERIES), operationName="Count")
    expensive = await post_document(with_manifest, document_id(EXPENSIVE))

    assert "operationName" in refused(without_name, 400, "BAD_REQUEST")
    assert named.json()["data"] == {"products": {"totalCount": 0}}
    assert error_codes(expensive.json()) == ["QUERY_TOO_COMPLEX"]


async def test_an_anonymous_document_id_get_is_cdn_cacheable_and_hits_the_query_cache(
    with_manifest: httpx.AsyncClient, mongo_commands: MongoCommandCounter
) -> None:
    await make_product(await make_category("Shoes"), name="Runner")
    full_text = await with_manifest.post("/graphql", json={"query": PRODUCT_NAMES})
    mongo_commands.reset()

    anonymous = await get_document(with_manifest, document_id(PRODUCT_NAMES))
    signed_in = await with_manifest.get(
        "/graphql",
        params={"documentId": document_id(PRODUCT_NAMES)},
        headers={"authorization": "Bearer not-a-token"},
    )

    assert full_text.json()["extensions"]["cache"] == "MISS"
    assert anonymous.headers["cache-control"] == PUBLIC
    assert anonymous.headers["etag"]
    assert anonymous.json() == {"data": full_text.json()["data"]}
    assert mongo_commands.commands == []
    assert signed_in.headers["cache-control"] == "private, no-store"


async def test_trusted_only_runs_manifest_documents_by_document_id_and_apq_hash(
    trusted_only: httpx.AsyncClient,
) -> None:
    by_document_id = await get_document(trusted_only, document_id(PRODUCT_NAMES))
    by_hash = await get_by_hash(trusted_only, document_hash(PRODUCT_NAMES))

    assert by_document_id.json() == {"data": {"products": {"edges": []}}}
    assert by_hash.json() == {"data": {"products": {"edges": []}}}


async def test_trusted_only_refuses_document_text_and_apq_registrations(
    trusted_only: httpx.AsyncClient, redis: Redis, settings: Settings
) -> None:
    query = "query Count { products { totalCount } }"

    posted = await trusted_only.post("/graphql", json={"query": PRODUCT_NAMES})
    by_get = await trusted_only.get("/graphql", params={"query": PRODUCT_NAMES})
    registration = await register(trusted_only, query)
    manifest_text = await register(trusted_only, PRODUCT_NAMES)

    message = refused(posted, 400, "PERSISTED_QUERY_ID_REQUIRED")
    assert "documentId" in message
    assert refused(by_get, 400, "PERSISTED_QUERY_ID_REQUIRED") == message
    assert refused(registration, 400, "PERSISTED_QUERY_ID_REQUIRED") == message
    assert refused(manifest_text, 400, "PERSISTED_QUERY_ID_REQUIRED") == message
    assert await stored_keys(redis, settings) == []


async def test_trusted_only_refuses_unknown_ids_even_of_stored_apq_documents(
    trusted_client: Any, with_manifest: httpx.AsyncClient
) -> None:
    query = "query Count { products { totalCount } }"
    await register(with_manifest, query)  # stored while anyone could register

    async with trusted_client(trusted_documents_only=True) as trusted_only:
        by_document_id = await post_document(trusted_only, document_id(query))
        by_hash = await get_by_hash(trusted_only, document_hash(query))

    message = refused(by_document_id, 404, "PERSISTED_QUERY_NOT_IN_LIST")
    assert message == f"No trusted document has the id {document_id(query)}"
    assert refused(by_hash, 404, "PERSISTED_QUERY_NOT_IN_LIST") == message


async def test_trusted_only_serves_no_graphiql_page(trusted_only: httpx.AsyncClient) -> None:
    page = await trusted_only.get("/graphql", headers={"accept": "text/html"})

    assert refused(page, 404, "NOT_FOUND") == (
        "GraphiQL is not served: this API runs only the trusted documents of its manifest "
        "(TRUSTED_DOCUMENTS_ONLY)"
    )


async def test_trusted_only_runs_introspection_only_from_the_manifest_in_production(
    trusted_client: Any,
) -> None:
    async with trusted_client(
        trusted_documents_only=True, environment=Environment.PRODUCTION
    ) as client:
        in_manifest = await post_document(client, document_id(SCHEMA))
        not_in_manifest = await post_document(client, document_id(TYPE))
        as_text = await client.post("/graphql", json={"query": TYPE})

    assert in_manifest.json()["data"] == {"__schema": {"queryType": {"name": "Query"}}}
    refused(not_in_manifest, 404, "PERSISTED_QUERY_NOT_IN_LIST")
    refused(as_text, 400, "PERSISTED_QUERY_ID_REQUIRED")
