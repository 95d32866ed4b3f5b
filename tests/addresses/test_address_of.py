"""The domain functions checkout uses: `address_of`, and writes that join a caller's transaction."""

from __future__ import annotations

import httpx
import pytest
from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession

from documents.addresses import (
    Address,
    AddressBook,
    AddressError,
    AddressErrorCode,
    AddressFields,
    add_address,
    address_of,
    delete_address,
)
from documents.common import stored_id
from documents.orders import OrderAddress
from documents.transactions import in_transaction
from tests.factories import make_address, make_user

HOME = AddressFields(
    name="Asha Rao",
    phone="9876543210",
    line1="12 MG Road",
    city="Bengaluru",
    state="Karnataka",
    postal_code="560001",
)


async def test_address_of_finds_the_owners_address_only(client: httpx.AsyncClient) -> None:
    asha = await make_user("asha@example.com")
    ravi = await make_user("ravi@example.com")
    home = await make_address(asha, name="Home")

    assert await address_of(stored_id(asha), home.id) == home
    assert await address_of(stored_id(ravi), home.id) is None
    assert await address_of(stored_id(asha), ObjectId()) is None


async def test_a_stored_address_copies_field_for_field_into_an_order_address(
    client: httpx.AsyncClient,
) -> None:
    asha = await make_user("asha@example.com")
    home = await make_address(asha, line2="Near the park")

    order_address = OrderAddress.model_validate(home.model_dump(exclude={"id"}))

    assert set(OrderAddress.model_fields) == set(Address.model_fields) - {"id"}
    assert order_address.model_dump() == home.model_dump(exclude={"id"})


async def test_address_of_reads_in_the_callers_transaction(client: httpx.AsyncClient) -> None:
    asha = await make_user("asha@example.com")
    home = await make_address(asha)
    user_id = stored_id(asha)

    async def checkout(session: AsyncClientSession) -> Address | None:
        await delete_address(user_id, home.id, session=session)
        # The transaction sees its own delete; nobody else does until it commits.
        assert await address_of(user_id, home.id) == home
        return await address_of(user_id, home.id, session=session)

    assert await in_transaction(checkout) is None
    assert await address_of(user_id, home.id) is None


async def test_a_write_in_an_aborted_transaction_leaves_nothing(client: httpx.AsyncClient) -> None:
    user_id = stored_id(await make_user("asha@example.com"))

    async def add_then_fail(session: AsyncClientSession) -> None:
        await add_address(user_id, HOME, limit=10, session=session)
        raise AddressError(AddressErrorCode.ADDRESS_NOT_FOUND, "checkout gave up")

    with pytest.raises(AddressError):
        await in_transaction(add_then_fail)

    assert await AddressBook.get_pymongo_collection().count_documents({}) == 0
