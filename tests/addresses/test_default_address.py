"""`deleteAddress` and `setDefaultAddress`: exactly one default while any address exists."""

from __future__ import annotations

from typing import Any

import httpx
from strawberry import relay

from documents.accounts import User
from documents.addresses import Address, AddressBook
from tests.factories import DEFAULT_PASSWORD, global_id, make_address, make_user
from tests.support import error_codes, graphql, login, payload_errors

DELETE_ADDRESS = """
mutation DeleteAddress($id: ID!) {
  deleteAddress(id: $id) { deletedId addresses { id isDefault } errors { field code message } }
}
"""
SET_DEFAULT_ADDRESS = """
mutation SetDefaultAddress($id: ID!) {
  setDefaultAddress(id: $id) {
    address { id isDefault }
    addresses { id isDefault }
    errors { field code message }
  }
}
"""
MY_ADDRESSES = "{ me { addresses { id isDefault } } }"


async def owner_with_addresses(
    client: httpx.AsyncClient, count: int, email: str = "asha@example.com"
) -> tuple[User, str, list[Address]]:
    """A signed-in user with `count` addresses, oldest first (the first is the default)."""
    user = await make_user(email)
    added = [await make_address(user) for _ in range(count)]
    token: str = (await login(client, email, DEFAULT_PASSWORD))["accessToken"]
    return user, token, added


def listed(*addresses: Address, default: Address | None = None) -> list[dict[str, Any]]:
    return [
        {"id": global_id(a), "isDefault": a.id == default.id if default else False}
        for a in addresses
    ]


async def stored_books() -> list[dict[str, Any]]:
    return await AddressBook.get_pymongo_collection().find({}, sort=[("_id", 1)]).to_list()


async def test_deleting_the_default_promotes_the_most_recently_added_remaining_one(
    client: httpx.AsyncClient,
) -> None:
    _, token, (first, second, third) = await owner_with_addresses(client, 3)

    body = await graphql(client, DELETE_ADDRESS, {"id": global_id(first)}, token=token)

    assert body["data"]["deleteAddress"] == {
        "deletedId": global_id(first),
        "addresses": listed(third, second, default=third),
        "errors": [],
    }
    me = await graphql(client, MY_ADDRESSES, token=token)
    assert me["data"]["me"]["addresses"] == listed(third, second, default=third)


async def test_deleting_another_address_keeps_the_default(client: httpx.AsyncClient) -> None:
    _, token, (first, second, third) = await owner_with_addresses(client, 3)

    body = await graphql(client, DELETE_ADDRESS, {"id": global_id(third)}, token=token)

    assert body["data"]["deleteAddress"]["addresses"] == listed(first, second, default=first)


async def test_deleting_the_last_address_leaves_none_and_the_next_one_is_the_default(
    client: httpx.AsyncClient,
) -> None:
    user, token, (only,) = await owner_with_addresses(client, 1)

    body = await graphql(client, DELETE_ADDRESS, {"id": global_id(only)}, token=token)

    assert body["data"]["deleteAddress"]["addresses"] == []
    assert (await stored_books())[0]["default_id"] is None
    again = await make_address(user)
    me = await graphql(client, MY_ADDRESSES, token=token)
    assert me["data"]["me"]["addresses"] == listed(again, default=again)


async def test_set_default_switches_the_default(client: httpx.AsyncClient) -> None:
    _, token, (first, second, third) = await owner_with_addresses(client, 3)

    body = await graphql(client, SET_DEFAULT_ADDRESS, {"id": global_id(second)}, token=token)

    assert body["data"]["setDefaultAddress"] == {
        "address": {"id": global_id(second), "isDefault": True},
        "addresses": listed(second, third, first, default=second),
        "errors": [],
    }
    again = await graphql(client, SET_DEFAULT_ADDRESS, {"id": global_id(second)}, token=token)
    assert again["data"]["setDefaultAddress"]["errors"] == []
    assert again["data"]["setDefaultAddress"]["addresses"] == listed(
        second, third, first, default=second
    )


async def test_another_users_address_is_not_found_and_nothing_changes(
    client: httpx.AsyncClient,
) -> None:
    _, _, (asha_first, asha_second) = await owner_with_addresses(client, 2, "asha@example.com")
    _, ravi_token, _ = await owner_with_addresses(client, 1, "ravi@example.com")
    before = await stored_books()

    deleted = await graphql(client, DELETE_ADDRESS, {"id": global_id(asha_first)}, token=ravi_token)
    defaulted = await graphql(
        client, SET_DEFAULT_ADDRESS, {"id": global_id(asha_second)}, token=ravi_token
    )

    assert payload_errors(deleted, "deleteAddress") == [("id", "ADDRESS_NOT_FOUND")]
    assert deleted["data"]["deleteAddress"]["deletedId"] is None
    assert payload_errors(defaulted, "setDefaultAddress") == [("id", "ADDRESS_NOT_FOUND")]
    assert defaulted["data"]["setDefaultAddress"]["address"] is None
    assert await stored_books() == before


async def test_an_unknown_or_already_deleted_address_is_not_found(
    client: httpx.AsyncClient,
) -> None:
    _, token, (_, second) = await owner_with_addresses(client, 2)
    await graphql(client, DELETE_ADDRESS, {"id": global_id(second)}, token=token)
    before = await stored_books()
    unknown = str(relay.GlobalID("Address", "0123456789abcdef01234567"))

    for address_id in (global_id(second), unknown):
        deleted = await graphql(client, DELETE_ADDRESS, {"id": address_id}, token=token)
        defaulted = await graphql(client, SET_DEFAULT_ADDRESS, {"id": address_id}, token=token)
        assert payload_errors(deleted, "deleteAddress") == [("id", "ADDRESS_NOT_FOUND")]
        assert payload_errors(defaulted, "setDefaultAddress") == [("id", "ADDRESS_NOT_FOUND")]

    assert await stored_books() == before


async def test_anonymous_callers_cannot_delete_or_choose_a_default(
    client: httpx.AsyncClient,
) -> None:
    _, _, (first, _) = await owner_with_addresses(client, 2)
    before = await stored_books()

    deleted = await graphql(client, DELETE_ADDRESS, {"id": global_id(first)})
    defaulted = await graphql(client, SET_DEFAULT_ADDRESS, {"id": global_id(first)})

    assert error_codes(deleted) == ["UNAUTHENTICATED"]
    assert error_codes(defaulted) == ["UNAUTHENTICATED"]
    assert await stored_books() == before
