"""Cache hits for signed-in callers: their audience comes from the checked session, each audience
has entries of its own, and a hit costs MongoDB only that check."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.factories import make_category, make_product
from tests.support import MongoCommandCounter, admin_token, graphql, user_token

pytestmark = pytest.mark.usefixtures("app")

LIST = "{ products(first: 10) { edges { node { name } } } }"
ALL_LIST = "{ products(first: 10, filter: {includeUnpublished: true}) { edges { node { name } } } }"
LOGOUT_ALL = "mutation { logoutAll { revokedSessions errors { code } } }"


async def read(
    client: httpx.AsyncClient, query: str, token: str | None = None
) -> tuple[Any, str | None]:
    """The answer's data (or error codes) and its cache status."""
    body = await graphql(client, query, token=token)
    if "errors" in body:
        return [error["extensions"]["code"] for error in body["errors"]], None
    return body["data"], body["extensions"]["cache"]


def names(data: dict[str, Any]) -> set[str]:
    return {edge["node"]["name"] for edge in data["products"]["edges"]}


async def test_a_signed_in_hit_costs_only_the_session_check(
    client: httpx.AsyncClient, mongo_commands: MongoCommandCounter
) -> None:
    await make_product(await make_category("Shoes"), name="Runner")
    token = await user_token(client)
    first, first_status = await read(client, LIST, token)

    mongo_commands.reset()
    again, status = await read(client, LIST, token)

    assert (first_status, status) == ("MISS", "HIT")
    assert again == first
    assert names(again) == {"Runner"}
    # The access token's session and its user, read together; no catalog read.
    assert sorted(command[name] for name, command in mongo_commands.sent) == ["sessions", "users"]


async def test_each_audience_has_its_own_entries(client: httpx.AsyncClient) -> None:
    await make_product(await make_category("Shoes"), name="Runner")
    admin, user = await admin_token(client), await user_token(client)

    statuses = [(await read(client, LIST, token))[1] for token in (None, None, user, user)]
    statuses += [(await read(client, LIST, admin))[1] for _ in range(2)]

    # Anonymous callers, users and admins each fill and then hit an entry of their own.
    assert statuses == ["MISS", "HIT"] * 3


async def test_what_only_admins_may_read_is_never_stored(client: httpx.AsyncClient) -> None:
    shoes = await make_category("Shoes")
    await make_product(shoes, name="Runner")
    await make_product(shoes, name="Prototype", published=False)
    admin, user = await admin_token(client), await user_token(client)

    answers = [await read(client, ALL_LIST, admin) for _ in range(2)]

    assert [names(data) for data, _ in answers] == [{"Runner", "Prototype"}] * 2
    assert [status for _, status in answers] == ["MISS", "MISS"]
    assert (await read(client, ALL_LIST, user))[0] == ["FORBIDDEN"]


async def test_a_revoked_session_reads_as_an_anonymous_caller(client: httpx.AsyncClient) -> None:
    await make_product(await make_category("Shoes"), name="Runner")
    user = await user_token(client)
    await read(client, LIST, user)
    assert (await read(client, LIST, user))[1] == "HIT"

    revoked = await graphql(client, LOGOUT_ALL, token=user)
    assert revoked["data"]["logoutAll"]["errors"] == []

    # The token has not expired, but its session has: not the users' entry any more ...
    data, status = await read(client, LIST, user)
    assert status == "MISS"
    assert names(data) == {"Runner"}
    # ... but the anonymous one, which that read has just filled.
    assert (await read(client, LIST))[1] == "HIT"
