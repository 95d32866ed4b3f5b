"""MongoDB stalled (a paused mongod: connections open, no answers) or down (a closed port): every
request that needs it fails within the MongoDB timeouts with the retryable `SERVICE_UNAVAILABLE`
and HTTP 503, masked like a server fault, and a mutation changes nothing.

The apps here run behind `mongo_proxy` with short timeouts (`proxied_settings`)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from documents.catalog import Product, StockMovement
from settings import Settings
from tests.factories import global_id, make_category, make_product
from tests.fakes.mongo_proxy import MongoProxy
from tests.support import admin_token, another_app, error_codes

PRODUCTS = """
query {
  products(first: 5) { edges { node { name } } }
}
"""
ADJUST_STOCK = """
mutation AdjustStock($input: AdjustStockInput!) {
  adjustStock(input: $input) { product { stock } errors { field code message } }
}
"""


async def lose_mongodb(proxy: MongoProxy, failure: str) -> None:
    if failure == "stall":
        proxy.stall()
    else:
        await proxy.shut()


def assert_service_unavailable(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "5"
    body: dict[str, Any] = response.json()
    assert error_codes(body) == ["SERVICE_UNAVAILABLE"]
    [error] = body["errors"]
    # Masked: PyMongo's message names servers and the topology; the log has it, not the client.
    assert error["message"] == "The service is temporarily unavailable; try again shortly"
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]
    assert "127.0.0.1" not in response.text
    return body


@pytest.mark.parametrize("failure", ["stall", "shut"])
async def test_a_query_is_service_unavailable_with_503(
    app: Starlette, proxied_settings: Settings, mongo_proxy: MongoProxy, failure: str
) -> None:
    await make_product(await make_category("Shoes"))

    async with another_app(proxied_settings, app) as http:
        await lose_mongodb(mongo_proxy, failure)
        response = await http.post("/graphql", json={"query": PRODUCTS})

    body = assert_service_unavailable(response)
    assert body["data"] is None


@pytest.mark.parametrize("failure", ["stall", "shut"])
async def test_a_mutation_is_service_unavailable_with_503_and_changes_nothing(
    app: Starlette, proxied_settings: Settings, mongo_proxy: MongoProxy, failure: str
) -> None:
    product = await make_product(await make_category("Shoes"), stock=5)

    async with another_app(proxied_settings, app) as http:
        token = await admin_token(http)
        await lose_mongodb(mongo_proxy, failure)
        response = await http.post(
            "/graphql",
            json={
                "query": ADJUST_STOCK,
                "variables": {
                    "input": {"productId": global_id(product), "delta": -2, "reason": "Sold"}
                },
            },
            headers={"authorization": f"Bearer {token}"},
        )

    body = assert_service_unavailable(response)
    assert body["data"] is None
    stored = await Product.get(product.id)
    assert stored is not None
    assert stored.stock == 5
    assert await StockMovement.find_all().count() == 0


async def test_a_route_outside_graphql_is_service_unavailable_with_503(
    app: Starlette, proxied_settings: Settings, mongo_proxy: MongoProxy
) -> None:
    async with another_app(proxied_settings, app) as http:
        token = await admin_token(http)
        mongo_proxy.stall()
        response = await http.get("/admin/export", headers={"authorization": f"Bearer {token}"})

    assert_service_unavailable(response)
