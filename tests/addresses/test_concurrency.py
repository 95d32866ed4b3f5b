"""Concurrent address changes keep the rules: never more than the limit, exactly one default."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import httpx

from documents.accounts import User
from documents.addresses import AddressBook
from settings import Settings
from tests.factories import DEFAULT_PASSWORD, global_id, make_address, make_user
from tests.support import graphql, login

ADD_ADDRESS = """
mutation AddAddress($input: AddAddressInput!) {
  addAddress(input: $input) { address { id } errors { code } }
}
"""
DELETE_ADDRESS = """
mutation DeleteAddress($id: ID!) { deleteAddress(id: $id) { deletedId errors { code } } }
"""
SET_DEFAULT_ADDRESS = """
mutation SetDefaultAddress($id: ID!) { setDefaultAddress(id: $id) { errors { code } } }
"""
UPDATE_ADDRESS = """
mutation UpdateAddress($input: UpdateAddressInput!) { updateAddress(input: $input) { errors { code } } }
"""
MY_ADDRESSES = "{ me { addresses { id isDefault } } }"
HOME = {
    "name": "Asha Rao",
    "phone": "9876543210",
    "line1": "12 MG Road",
    "city": "Bengaluru",
    "state": "Karnataka",
    "postalCode": "560001",
}


async def signed_in(client: httpx.AsyncClient) -> tuple[User, str]:
    user = await make_user("asha@example.com")
    token: str = (await login(client, user.email, DEFAULT_PASSWORD))["accessToken"]
    return user, token


async def stored_book(user: User) -> dict[str, Any]:
    book = await AddressBook.get_pymongo_collection().find_one({"user_id": user.id})
    assert book is not None
    return book


def assert_one_default_among(book: dict[str, Any]) -> None:
    ids = [address["id"] for address in book["addresses"]]
    assert len(set(ids)) == len(ids)
    if ids:
        assert book["default_id"] in ids
    else:
        assert book["default_id"] is None


async def test_twenty_concurrent_adds_to_an_empty_book_end_at_the_limit_with_one_default(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    user, token = await signed_in(client)
    limit = settings.max_addresses

    bodies = await asyncio.gather(
        *(
            graphql(client, ADD_ADDRESS, {"input": HOME | {"line1": f"{n} MG Road"}}, token=token)
            for n in range(20)
        )
    )

    added = [b for b in bodies if b["data"]["addAddress"]["errors"] == []]
    refused = [b["data"]["addAddress"]["errors"] for b in bodies if b not in added]
    assert len(added) == min(20, limit)
    assert refused == [[{"code": "TOO_MANY_ADDRESSES"}]] * (20 - len(added))
    assert await AddressBook.find(AddressBook.user_id == user.id).count() == 1
    book = await stored_book(user)
    assert len(book["addresses"]) == min(20, limit)
    assert_one_default_among(book)
    me = await graphql(client, MY_ADDRESSES, token=token)
    assert [a["isDefault"] for a in me["data"]["me"]["addresses"]].count(True) == 1


async def test_racing_deletes_default_changes_and_updates_keep_exactly_one_default(
    client: httpx.AsyncClient,
) -> None:
    user, token = await signed_in(client)
    shuffle = random.Random(7).shuffle

    for _ in range(5):
        added = [await make_address(user, city="Bengaluru") for _ in range(6)]
        ids = [global_id(address) for address in added]
        calls = [graphql(client, DELETE_ADDRESS, {"id": a}, token=token) for a in ids[:3]]
        calls += [graphql(client, SET_DEFAULT_ADDRESS, {"id": a}, token=token) for a in ids]
        calls += [
            graphql(client, UPDATE_ADDRESS, {"input": {"id": a, "city": "Mysuru"}}, token=token)
            for a in ids
        ]
        shuffle(calls)

        await asyncio.gather(*calls)

        book = await stored_book(user)
        assert_one_default_among(book)
        assert [a["id"] for a in book["addresses"]] == [a.id for a in added[3:]]
        # Updates that raced with other writes ran again, and none was lost.
        assert {a["city"] for a in book["addresses"]} == {"Mysuru"}
        me = await graphql(client, MY_ADDRESSES, token=token)
        listed = me["data"]["me"]["addresses"]
        assert [a["isDefault"] for a in listed] == [True, False, False]
        await AddressBook.get_pymongo_collection().delete_many({})


async def test_deleting_every_address_at_once_leaves_an_empty_book_without_a_default(
    client: httpx.AsyncClient,
) -> None:
    user, token = await signed_in(client)
    addresses = [global_id(await make_address(user)) for _ in range(8)]

    bodies = await asyncio.gather(
        *(graphql(client, DELETE_ADDRESS, {"id": a}, token=token) for a in addresses),
        *(graphql(client, SET_DEFAULT_ADDRESS, {"id": a}, token=token) for a in addresses),
    )

    deleted = [
        b["data"]["deleteAddress"]["deletedId"] for b in bodies if "deleteAddress" in b["data"]
    ]
    assert deleted == addresses
    book = await stored_book(user)
    assert (book["addresses"], book["default_id"]) == ([], None)
