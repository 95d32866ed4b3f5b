"""Users and sessions as Relay nodes: visible to their owner (and users to admins), never cached."""

from __future__ import annotations

import httpx

from documents.accounts import AuthSession, Role
from tests.factories import DEFAULT_PASSWORD, global_id, make_user
from tests.support import graphql, login

NODE = "query Node($id: ID!) { node(id: $id) { __typename id ... on User { email } } }"


async def test_a_user_node_is_visible_to_its_owner_and_admins_only(
    client: httpx.AsyncClient,
) -> None:
    asha = await make_user("asha@example.com")
    await make_user("ravi@example.com")
    await make_user("boss@example.com", role=Role.ADMIN)
    tokens = {
        email: (await login(client, email, DEFAULT_PASSWORD))["accessToken"]
        for email in ("asha@example.com", "ravi@example.com", "boss@example.com")
    }

    async def seen_by(token: str | None) -> object:
        body = await graphql(client, NODE, {"id": global_id(asha)}, token=token)
        return body["data"]["node"]

    assert await seen_by(tokens["asha@example.com"]) == {
        "__typename": "User",
        "id": global_id(asha),
        "email": "asha@example.com",
    }
    assert await seen_by(tokens["boss@example.com"]) is not None
    assert await seen_by(tokens["ravi@example.com"]) is None
    assert await seen_by(None) is None


async def test_a_session_node_is_visible_to_its_owner_only(client: httpx.AsyncClient) -> None:
    asha = await make_user("asha@example.com")
    await make_user("ravi@example.com")
    asha_token = (await login(client, "asha@example.com", DEFAULT_PASSWORD))["accessToken"]
    ravi_token = (await login(client, "ravi@example.com", DEFAULT_PASSWORD))["accessToken"]
    session = await AuthSession.find_one(AuthSession.user_id == asha.id)
    assert session is not None
    query = "query Node($id: ID!) { node(id: $id) { ... on Session { current } } }"

    own = await graphql(client, query, {"id": global_id(session)}, token=asha_token)
    other = await graphql(client, query, {"id": global_id(session)}, token=ravi_token)

    assert own["data"]["node"] == {"current": True}
    assert other["data"]["node"] is None


async def test_answers_that_depend_on_the_viewer_are_never_cached_or_shared(
    client: httpx.AsyncClient,
) -> None:
    asha = await make_user("asha@example.com")
    token = (await login(client, "asha@example.com", DEFAULT_PASSWORD))["accessToken"]

    async def ask(bearer: str | None) -> tuple[object, str]:
        response = await client.post(
            "/graphql",
            json={"query": NODE, "variables": {"id": global_id(asha)}},
            headers={"authorization": f"Bearer {bearer}"} if bearer else {},
        )
        body = response.json()
        return body["data"]["node"], body["extensions"]["cache"]

    anonymous = [await ask(None), await ask(None)]
    signed_in = [await ask(token), await ask(token)]

    # Whether anyone may see a user depends on who asks, so no answer about one is ever stored.
    assert anonymous == [(None, "MISS"), (None, "MISS")]
    assert [status for _, status in signed_in] == ["MISS", "MISS"]
    assert all(node is not None for node, _ in signed_in)


async def test_signed_in_users_share_public_catalog_results(client: httpx.AsyncClient) -> None:
    await make_user("asha@example.com")
    await make_user("ravi@example.com")
    asha = (await login(client, "asha@example.com", DEFAULT_PASSWORD))["accessToken"]
    ravi = (await login(client, "ravi@example.com", DEFAULT_PASSWORD))["accessToken"]
    query = "{ products(first: 3) { totalCount } }"

    statuses = []
    for bearer in (asha, ravi, None):
        response = await client.post(
            "/graphql",
            json={"query": query},
            headers={"authorization": f"Bearer {bearer}"} if bearer else {},
        )
        statuses.append(response.json()["extensions"]["cache"])

    assert statuses == ["MISS", "HIT", "MISS"]
