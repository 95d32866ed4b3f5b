"""`adjustStock` and `setStock` (admins only), and the stock history in `Product.stockMovements`."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from bson import ObjectId
from strawberry import relay

from documents.accounts import Role, User
from documents.catalog import Product, StockMovement
from tests.factories import DEFAULT_PASSWORD, global_id, make_category, make_product, make_user
from tests.support import catalog_state, error_codes, graphql, login
from tests.support import payload_errors as errors

ADJUST_STOCK = """
mutation AdjustStock($input: AdjustStockInput!) {
  adjustStock(input: $input) {
    product { id stock inStock }
    stockMovement { delta before after reason actorId createdAt }
    errors { field code message }
  }
}
"""
SET_STOCK = """
mutation SetStock($input: SetStockInput!) {
  setStock(input: $input) {
    product { id stock inStock }
    stockMovement { delta before after reason actorId createdAt }
    errors { field code message }
  }
}
"""
STOCK_MOVEMENTS = """
query StockMovements($slug: String!, $first: Int, $after: String) {
  product(slug: $slug) {
    stock
    stockMovements(first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node { delta before after reason actorId createdAt } }
    }
  }
}
"""


async def signed_in_admin(client: httpx.AsyncClient) -> tuple[User, str]:
    admin = await make_user("admin@example.com", role=Role.ADMIN)
    token: str = (await login(client, "admin@example.com", DEFAULT_PASSWORD))["accessToken"]
    return admin, token


async def stock_of(product: Product) -> int:
    found = await Product.get(product.id)
    assert found is not None
    return found.stock


def adjustment(product: Product, delta: int, reason: str = "Recount") -> dict[str, Any]:
    return {"input": {"productId": global_id(product), "delta": delta, "reason": reason}}


def counted(product: Product, stock: int, reason: str = "Stocktake") -> dict[str, Any]:
    return {"input": {"productId": global_id(product), "stock": stock, "reason": reason}}


async def test_adjusting_changes_the_stock_and_records_who_when_and_why(
    client: httpx.AsyncClient,
) -> None:
    admin, token = await signed_in_admin(client)
    runner = await make_product(await make_category("Shoes"), stock=4)
    started = datetime.now(UTC) - timedelta(seconds=1)

    body = await graphql(
        client, ADJUST_STOCK, adjustment(runner, 6, "  Delivery   from supplier "), token=token
    )

    payload = body["data"]["adjustStock"]
    assert payload["errors"] == []
    assert payload["product"] == {"id": global_id(runner), "stock": 10, "inStock": True}
    movement = payload["stockMovement"]
    assert {key: movement[key] for key in ("delta", "before", "after", "reason", "actorId")} == {
        "delta": 6,
        "before": 4,
        "after": 10,
        "reason": "Delivery from supplier",
        "actorId": global_id(admin),
    }
    created_at = datetime.fromisoformat(movement["createdAt"])
    assert started <= created_at <= datetime.now(UTC)
    assert await stock_of(runner) == 10
    stored = await StockMovement.find(StockMovement.product_id == runner.id).to_list()
    assert [(m.delta, m.before, m.after, m.actor_id) for m in stored] == [(6, 4, 10, admin.id)]


async def test_removing_stock_down_to_zero_is_allowed(client: httpx.AsyncClient) -> None:
    _, token = await signed_in_admin(client)
    runner = await make_product(await make_category("Shoes"), stock=3)

    body = await graphql(client, ADJUST_STOCK, adjustment(runner, -3, "Damaged"), token=token)

    assert body["data"]["adjustStock"]["product"]["stock"] == 0
    assert body["data"]["adjustStock"]["product"]["inStock"] is False
    assert body["data"]["adjustStock"]["stockMovement"]["delta"] == -3
    assert await stock_of(runner) == 0


async def test_setting_the_stock_records_the_difference(client: httpx.AsyncClient) -> None:
    admin, token = await signed_in_admin(client)
    runner = await make_product(await make_category("Shoes"), stock=12)

    body = await graphql(client, SET_STOCK, counted(runner, 7), token=token)

    payload = body["data"]["setStock"]
    assert payload["errors"] == []
    assert payload["product"]["stock"] == 7
    movement = payload["stockMovement"]
    assert (movement["delta"], movement["before"], movement["after"], movement["reason"]) == (
        -5,
        12,
        7,
        "Stocktake",
    )
    assert movement["actorId"] == global_id(admin)
    assert await stock_of(runner) == 7


async def test_the_history_is_newest_first_page_by_page(client: httpx.AsyncClient) -> None:
    admin, token = await signed_in_admin(client)
    await make_product(await make_category("Shoes"), slug="runner", stock=0)
    runner = await Product.find_one(Product.slug == "runner")
    assert runner is not None
    changes = [
        (ADJUST_STOCK, adjustment(runner, 10, "Delivery")),
        (ADJUST_STOCK, adjustment(runner, -2, "Damaged")),
        (SET_STOCK, counted(runner, 5, "Stocktake")),
    ]
    for document, variables in changes:
        assert "errors" not in await graphql(client, document, variables, token=token)

    first = await graphql(client, STOCK_MOVEMENTS, {"slug": "runner", "first": 2}, token=token)
    cursor = first["data"]["product"]["stockMovements"]["pageInfo"]["endCursor"]
    rest = await graphql(
        client, STOCK_MOVEMENTS, {"slug": "runner", "first": 2, "after": cursor}, token=token
    )

    def rows(body: dict[str, Any]) -> list[tuple[int, int, int, str, str]]:
        edges = body["data"]["product"]["stockMovements"]["edges"]
        return [
            tuple(edge["node"][key] for key in ("delta", "before", "after", "reason", "actorId"))
            for edge in edges
        ]

    actor = global_id(admin)
    assert rows(first) == [(-3, 8, 5, "Stocktake", actor), (-2, 10, 8, "Damaged", actor)]
    assert rows(rest) == [(10, 0, 10, "Delivery", actor)]
    first_page = first["data"]["product"]["stockMovements"]
    assert (first_page["totalCount"], first_page["pageInfo"]["hasNextPage"]) == (3, True)
    assert rest["data"]["product"]["stockMovements"]["pageInfo"]["hasNextPage"] is False
    assert first["data"]["product"]["stock"] == 5


@pytest.mark.parametrize(
    ("case", "document", "mutation", "variables", "expected"),
    [
        (
            "below zero",
            ADJUST_STOCK,
            "adjustStock",
            lambda p: adjustment(p, -6),
            ("delta", "INSUFFICIENT_STOCK"),
        ),
        (
            "no change",
            ADJUST_STOCK,
            "adjustStock",
            lambda p: adjustment(p, 0),
            ("delta", "INVALID_STOCK"),
        ),
        (
            "empty reason",
            ADJUST_STOCK,
            "adjustStock",
            lambda p: adjustment(p, 1, ""),
            ("reason", "INVALID_REASON"),
        ),
        (
            "blank reason",
            ADJUST_STOCK,
            "adjustStock",
            lambda p: adjustment(p, 1, "   "),
            ("reason", "INVALID_REASON"),
        ),
        (
            "reason too long",
            ADJUST_STOCK,
            "adjustStock",
            lambda p: adjustment(p, 1, "x" * 201),
            ("reason", "INVALID_REASON"),
        ),
        (
            "negative count",
            SET_STOCK,
            "setStock",
            lambda p: counted(p, -1),
            ("stock", "INVALID_STOCK"),
        ),
        (
            "count without a reason",
            SET_STOCK,
            "setStock",
            lambda p: counted(p, 3, ""),
            ("reason", "INVALID_REASON"),
        ),
    ],
)
async def test_a_refused_stock_change_leaves_stock_and_history_unchanged(
    client: httpx.AsyncClient,
    case: str,
    document: str,
    mutation: str,
    variables: Any,
    expected: tuple[str, str],
) -> None:
    _, token = await signed_in_admin(client)
    runner = await make_product(await make_category("Shoes"), stock=5)
    before = await catalog_state()

    body = await graphql(client, document, variables(runner), token=token)

    assert body["data"][mutation]["product"] is None
    assert body["data"][mutation]["stockMovement"] is None
    assert errors(body, mutation) == [expected], case
    assert await catalog_state() == before


@pytest.mark.parametrize(
    ("document", "mutation", "variables"),
    [
        (ADJUST_STOCK, "adjustStock", {"delta": 1, "reason": "Delivery"}),
        (SET_STOCK, "setStock", {"stock": 1, "reason": "Stocktake"}),
    ],
)
async def test_changing_the_stock_of_an_unknown_product_is_not_found(
    client: httpx.AsyncClient, document: str, mutation: str, variables: dict[str, Any]
) -> None:
    _, token = await signed_in_admin(client)
    unknown = str(relay.GlobalID("Product", str(ObjectId())))

    body = await graphql(
        client, document, {"input": {"productId": unknown, **variables}}, token=token
    )

    assert errors(body, mutation) == [("productId", "PRODUCT_NOT_FOUND")]
    assert await StockMovement.count() == 0


async def test_the_history_is_for_admins_only(client: httpx.AsyncClient) -> None:
    await make_user("customer@example.com")
    customer = (await login(client, "customer@example.com", DEFAULT_PASSWORD))["accessToken"]
    await make_product(await make_category("Shoes"), slug="runner")

    as_user = await graphql(client, STOCK_MOVEMENTS, {"slug": "runner"}, token=customer)
    anonymous = await graphql(client, STOCK_MOVEMENTS, {"slug": "runner"})

    assert error_codes(as_user) == ["FORBIDDEN"]
    assert as_user["errors"][0]["path"] == ["product", "stockMovements"]
    assert as_user["data"] == {"product": None}
    assert error_codes(anonymous) == ["UNAUTHENTICATED"]
    assert anonymous["data"] == {"product": None}


async def test_200_concurrent_adjustments_end_at_the_exact_stock_and_never_below_zero(
    client: httpx.AsyncClient,
) -> None:
    _, token = await signed_in_admin(client)
    runner = await make_product(await make_category("Shoes"), stock=20)
    # 150 removals and 50 additions of one unit, interleaved: removals fail only while empty.
    deltas = [-1, -1, -1, 1] * 50

    bodies = await asyncio.gather(
        *(graphql(client, ADJUST_STOCK, adjustment(runner, delta), token=token) for delta in deltas)
    )

    outcomes = [body["data"]["adjustStock"] for body in bodies]
    assert all("errors" not in body for body in bodies)
    applied = [o["stockMovement"] for o in outcomes if not o["errors"]]
    refused = [errors({"data": {"m": o}}, "m") for o in outcomes if o["errors"]]
    assert all(codes == [("delta", "INSUFFICIENT_STOCK")] for codes in refused)
    assert len(applied) + len(refused) == 200
    # At least 150 - (20 + 50) removals cannot have found stock.
    assert len(refused) >= 80
    expected = 20 + sum(movement["delta"] for movement in applied)
    assert await stock_of(runner) == expected >= 0
    history = await StockMovement.find(StockMovement.product_id == runner.id).to_list()
    assert len(history) == len(applied)
    assert all(m.after == m.before + m.delta and m.before >= 0 and m.after >= 0 for m in history)
    # Applied one at a time: each change starts from the stock the previous one left.
    chain = sorted(history, key=lambda m: (m.created_at, m.id))
    assert [m.before for m in chain[1:]] == [m.after for m in chain[:-1]]
    assert (chain[0].before, chain[-1].after) == (20, expected)


async def test_concurrent_removals_sell_exactly_the_stock(client: httpx.AsyncClient) -> None:
    _, token = await signed_in_admin(client)
    runner = await make_product(await make_category("Shoes"), stock=50)

    bodies = await asyncio.gather(
        *(
            graphql(client, ADJUST_STOCK, adjustment(runner, -1, "Sold"), token=token)
            for _ in range(80)
        )
    )

    outcomes = [body["data"]["adjustStock"] for body in bodies]
    assert sum(not o["errors"] for o in outcomes) == 50
    assert sorted(o["stockMovement"]["after"] for o in outcomes if not o["errors"]) == list(
        range(50)
    )
    assert {o["errors"][0]["code"] for o in outcomes if o["errors"]} == {"INSUFFICIENT_STOCK"}
    assert await stock_of(runner) == 0
    assert await StockMovement.find(StockMovement.product_id == runner.id).count() == 50
