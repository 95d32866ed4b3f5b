"""GraphiQL in headless Chromium against the live server (`graphiql.mjs`): it loads with nothing
from another origin and no errors, runs a typed query, and sends the Authorization header typed
in its Headers editor."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.clients.conftest import run_node
from tests.factories import DEFAULT_PASSWORD, make_category, make_product, make_user
from tests.live_server import LiveServer
from tests.support import login


async def test_graphiql_runs_a_typed_query_with_nothing_from_another_origin(
    node_clients: Path, live_api: LiveServer, client: httpx.AsyncClient
) -> None:
    category = await make_category("Footwear")
    await make_product(category, name="Trail Running Shoe")
    developer = await make_user("dev@example.com")
    token = (await login(client, developer.email, DEFAULT_PASSWORD))["accessToken"]

    summary = await run_node(node_clients / "graphiql.mjs", live_api.url, token)

    catalog, me = (json.loads(result) for result in summary["results"])
    assert catalog["data"] == {"products": {"edges": [{"node": {"name": "Trail Running Shoe"}}]}}
    assert me["data"] == {"me": {"email": "dev@example.com"}}
    assert summary["title"] == "GraphiQL"
    assert summary["consoleErrors"] == []
    assert summary["pageErrors"] == []
    # The page, its files, the schema and both queries: all from the API's own origin.
    assert all(
        request.split(" ", 1)[1].startswith(f"{live_api.url}/") for request in summary["requests"]
    ), summary["requests"]
    assert summary["requests"][0] == f"GET {live_api.url}/graphql"
    assert summary["requests"][-3:] == [f"POST {live_api.url}/graphql"] * 3
