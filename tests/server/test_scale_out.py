"""Workers and replicas keep no state that matters between requests (README, "Scale-out"): two
API processes on different ports, against the same MongoDB and Redis, as two replicas behind a
load balancer would be. A write through one is seen at once through the other, whose cached
answer it retired."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from documents.catalog import Product
from settings import Settings
from tests.factories import global_id, make_category, make_product
from tests.live_server import LiveServer
from tests.support import admin_token, graphql

pytestmark = pytest.mark.usefixtures("app")

PRODUCT = "query Product($id: ID!) { product(id: $id) { name finalPrice { amount } } }"
UPDATE_PRODUCT = """
mutation UpdateProduct($input: UpdateProductInput!) {
  updateProduct(input: $input) { product { finalPrice { amount } } errors { code } }
}
"""


async def read(http: httpx.AsyncClient, product: Product) -> tuple[str, str]:
    """The product's price and how the cache answered (a POST, which reports it)."""
    body = await graphql(http, PRODUCT, {"id": global_id(product)})
    return body["data"]["product"]["finalPrice"]["amount"], body["extensions"]["cache"]


async def get_price(http: httpx.AsyncClient, product: Product) -> str:
    """The product's price through a GET, as a storefront (or a CDN) asks for it."""
    variables: dict[str, Any] = {"id": global_id(product)}
    response = await http.get(
        "/graphql", params={"query": PRODUCT, "variables": json.dumps(variables)}
    )
    assert response.status_code == 200, response.text
    amount: str = response.json()["data"]["product"]["finalPrice"]["amount"]
    return amount


async def test_a_write_through_one_process_is_seen_at_once_through_the_other(
    settings: Settings, tmp_path: Path
) -> None:
    product = await make_product(await make_category("Shoes"), price=10_000)
    writer, reader = (
        LiveServer(settings, tmp_path / "writer"),
        LiveServer(settings, tmp_path / "reader"),
    )
    writer.launch()
    try:
        reader.launch()
        try:
            writer.wait_until_ready()
            reader.wait_until_ready()
            async with (
                httpx.AsyncClient(base_url=writer.url, timeout=10) as one,
                httpx.AsyncClient(base_url=reader.url, timeout=10) as two,
            ):
                warming = [await read(two, product), await read(two, product)]
                warm_get = [await get_price(two, product), await get_price(two, product)]
                token = await admin_token(one)

                written = await graphql(
                    one,
                    UPDATE_PRODUCT,
                    {"input": {"id": global_id(product), "price": "120.00"}},
                    token=token,
                )
                fresh = await read(two, product)
                fresh_get = await get_price(two, product)
        finally:
            reader.stop()
    finally:
        writer.stop()

    # The reader served the old price, from its cache once warm.
    assert warming == [("100.00", "MISS"), ("100.00", "HIT")]
    assert warm_get == ["100.00", "100.00"]
    assert written["data"]["updateProduct"]["errors"] == []
    # Right after the write returned: the entry it retired missed, and the new price came back.
    assert fresh == ("120.00", "MISS")
    assert fresh_get == "120.00"
