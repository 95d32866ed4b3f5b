"""Reading addresses: `me.addresses`, `User.addresses` and `node(id:)`, for their owner only."""

from __future__ import annotations

import httpx

from documents.accounts import Role
from tests.factories import DEFAULT_PASSWORD, global_id, make_address, make_user
from tests.support import MongoCommandCounter, error_codes, graphql, login

MY_ADDRESSES = """
{ me { addresses { id name phone line1 line2 city state postalCode country isDefault } } }
"""
USER_ADDRESSES = "query User($id: ID!) { node(id: $id) { ... on User { email addresses { id } } } }"
ADDRESS_NODE = "query Node($id: ID!) { node(id: $id) { __typename ... on Address { id name } } }"
ADDRESS_NODES = "query Nodes($ids: [ID!]!) { nodes(ids: $ids) { ... on Address { id } } }"


async def test_my_addresses_list_the_default_first_then_the_newest(
    client: httpx.AsyncClient,
) -> None:
    user = await make_user("asha@example.com")
    first = await make_address(user, name="Home", line2="Near the park")
    second = await make_address(user, name="Office")
    third = await make_address(user, name="Parents")
    token = (await login(client, user.email, DEFAULT_PASSWORD))["accessToken"]

    body = await graphql(client, MY_ADDRESSES, token=token)

    addresses = body["data"]["me"]["addresses"]
    assert [(a["id"], a["name"], a["isDefault"]) for a in addresses] == [
        (global_id(first), "Home", True),
        (global_id(third), "Parents", False),
        (global_id(second), "Office", False),
    ]
    assert addresses[0] | {"id": None} == {
        "id": None,
        "name": "Home",
        "phone": "+919876543210",
        "line1": first.line1,
        "line2": "Near the park",
        "city": "Bengaluru",
        "state": "Karnataka",
        "postalCode": "560001",
        "country": "IN",
        "isDefault": True,
    }


async def test_a_user_without_addresses_has_an_empty_list(client: httpx.AsyncClient) -> None:
    await make_user("asha@example.com")
    token = (await login(client, "asha@example.com", DEFAULT_PASSWORD))["accessToken"]

    body = await graphql(client, MY_ADDRESSES, token=token)

    assert body["data"]["me"]["addresses"] == []


async def test_other_users_addresses_are_not_listed_even_for_an_admin(
    client: httpx.AsyncClient,
) -> None:
    asha = await make_user("asha@example.com")
    await make_address(asha)
    await make_user("boss@example.com", role=Role.ADMIN)
    admin = (await login(client, "boss@example.com", DEFAULT_PASSWORD))["accessToken"]
    own = (await login(client, "asha@example.com", DEFAULT_PASSWORD))["accessToken"]

    by_admin = await graphql(client, USER_ADDRESSES, {"id": global_id(asha)}, token=admin)
    by_owner = await graphql(client, USER_ADDRESSES, {"id": global_id(asha)}, token=own)

    assert by_admin["data"]["node"] == {"email": "asha@example.com", "addresses": []}
    assert len(by_owner["data"]["node"]["addresses"]) == 1


async def test_anonymous_callers_have_no_addresses_to_read(client: httpx.AsyncClient) -> None:
    body = await graphql(client, MY_ADDRESSES)

    assert error_codes(body) == ["UNAUTHENTICATED"]


async def test_an_address_node_is_visible_to_its_owner_only(client: httpx.AsyncClient) -> None:
    asha = await make_user("asha@example.com")
    address = await make_address(asha, name="Home")
    await make_user("ravi@example.com")
    await make_user("boss@example.com", role=Role.ADMIN)
    tokens = {
        email: (await login(client, email, DEFAULT_PASSWORD))["accessToken"]
        for email in ("asha@example.com", "ravi@example.com", "boss@example.com")
    }

    async def seen_by(token: str | None) -> object:
        body = await graphql(client, ADDRESS_NODE, {"id": global_id(address)}, token=token)
        assert "errors" not in body, body
        return body["data"]["node"]

    assert await seen_by(tokens["asha@example.com"]) == {
        "__typename": "Address",
        "id": global_id(address),
        "name": "Home",
    }
    assert await seen_by(tokens["ravi@example.com"]) is None
    assert await seen_by(tokens["boss@example.com"]) is None
    assert await seen_by(None) is None


async def test_answers_about_addresses_are_never_cached(client: httpx.AsyncClient) -> None:
    asha = await make_user("asha@example.com")
    address = await make_address(asha)
    token = (await login(client, asha.email, DEFAULT_PASSWORD))["accessToken"]

    statuses = []
    for query, variables, bearer in [
        (MY_ADDRESSES, {}, token),
        (MY_ADDRESSES, {}, token),
        (ADDRESS_NODE, {"id": global_id(address)}, token),
        (ADDRESS_NODE, {"id": global_id(address)}, token),
        (ADDRESS_NODE, {"id": global_id(address)}, None),
        (ADDRESS_NODE, {"id": global_id(address)}, None),
    ]:
        body = await graphql(client, query, variables, token=bearer)
        statuses.append(body["extensions"]["cache"])

    # `me` never goes near the cache; a node lookup does, and is never stored.
    assert statuses == ["BYPASS", "BYPASS", "MISS", "MISS", "MISS", "MISS"]


async def test_my_addresses_cost_the_same_commands_however_many_there_are(
    client: httpx.AsyncClient, mongo_commands: MongoCommandCounter
) -> None:
    counts = []
    for email, count in (("one@example.com", 1), ("ten@example.com", 10)):
        user = await make_user(email)
        for _ in range(count):
            await make_address(user)
        token = (await login(client, email, DEFAULT_PASSWORD))["accessToken"]
        mongo_commands.reset()

        body = await graphql(client, MY_ADDRESSES, token=token)

        assert len(body["data"]["me"]["addresses"]) == count
        counts.append(sorted(mongo_commands.commands))
    # The session, the user, and the address book: one find each.
    assert counts == [["find", "find", "find"]] * 2


async def test_address_nodes_are_read_with_one_query_of_the_address_book(
    client: httpx.AsyncClient, mongo_commands: MongoCommandCounter
) -> None:
    user = await make_user("asha@example.com")
    addresses = [await make_address(user) for _ in range(5)]
    token = (await login(client, user.email, DEFAULT_PASSWORD))["accessToken"]
    ids = [global_id(address) for address in addresses]
    mongo_commands.reset()

    body = await graphql(client, ADDRESS_NODES, {"ids": ids}, token=token)

    assert [node["id"] for node in body["data"]["nodes"]] == ids
    book_queries = [
        command for name, command in mongo_commands.sent if command.get(name) == "address_books"
    ]
    assert len(book_queries) == 1
