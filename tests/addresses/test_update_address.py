"""`updateAddress`: only the fields sent change, the whole address is checked, owners only."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from strawberry import relay

from documents.addresses import AddressBook
from tests.factories import DEFAULT_PASSWORD, global_id, make_address, make_user
from tests.support import error_codes, graphql, login, payload_errors

UPDATE_ADDRESS = """
mutation UpdateAddress($input: UpdateAddressInput!) {
  updateAddress(input: $input) {
    address { id name phone line1 line2 city state postalCode country isDefault }
    addresses { id isDefault }
    errors { field code message }
  }
}
"""


async def owner_with_address(
    client: httpx.AsyncClient, email: str = "asha@example.com", **fields: Any
) -> tuple[str, str]:
    """A signed-in user with one address: (token, address id)."""
    user = await make_user(email)
    address = await make_address(user, **fields)
    token: str = (await login(client, email, DEFAULT_PASSWORD))["accessToken"]
    return token, global_id(address)


async def stored_books() -> list[dict[str, Any]]:
    return await AddressBook.get_pymongo_collection().find({}, sort=[("_id", 1)]).to_list()


async def test_only_the_fields_sent_change(client: httpx.AsyncClient) -> None:
    token, address_id = await owner_with_address(client, line2="Near the park")

    body = await graphql(
        client,
        UPDATE_ADDRESS,
        {"input": {"id": address_id, "city": " Bangalore ", "phone": "+91 91234 56789"}},
        token=token,
    )

    payload = body["data"]["updateAddress"]
    assert payload["errors"] == []
    address = payload["address"]
    assert (address["id"], address["city"], address["phone"]) == (
        address_id,
        "Bangalore",
        "+919123456789",
    )
    assert (address["line2"], address["state"], address["postalCode"]) == (
        "Near the park",
        "Karnataka",
        "560001",
    )
    assert address["isDefault"] is True
    assert payload["addresses"] == [{"id": address_id, "isDefault": True}]
    stored = (await stored_books())[0]["addresses"][0]
    assert (stored["city"], stored["phone"], stored["line2"]) == (
        "Bangalore",
        "+919123456789",
        "Near the park",
    )


async def test_null_clears_the_second_line_and_absent_leaves_it(
    client: httpx.AsyncClient,
) -> None:
    token, address_id = await owner_with_address(client, line2="Near the park")

    kept = await graphql(
        client, UPDATE_ADDRESS, {"input": {"id": address_id, "name": "Ravi"}}, token=token
    )
    cleared = await graphql(
        client, UPDATE_ADDRESS, {"input": {"id": address_id, "line2": None}}, token=token
    )

    assert kept["data"]["updateAddress"]["address"]["line2"] == "Near the park"
    assert cleared["data"]["updateAddress"]["address"]["line2"] is None
    assert cleared["data"]["updateAddress"]["address"]["name"] == "Ravi"
    assert (await stored_books())[0]["addresses"][0]["line2"] == ""


@pytest.mark.parametrize(
    ("update", "expected"),
    [
        ({"name": None}, [("name", "INVALID_NAME")]),
        ({"line1": None}, [("line1", "INVALID_LINE")]),
        ({"city": ""}, [("city", "INVALID_CITY")]),
        ({"state": None}, [("state", "INVALID_STATE")]),
        ({"phone": "98765"}, [("phone", "INVALID_PHONE")]),
        ({"postalCode": "012345"}, [("postalCode", "INVALID_POSTAL_CODE")]),
        ({"country": None}, [("country", "INVALID_COUNTRY")]),
        # Abroad too, the stored +91 number is valid; the new postal code is not.
        ({"country": "GB", "postalCode": "SW1A 1AA!"}, [("postalCode", "INVALID_POSTAL_CODE")]),
        # Back to India: a foreign postal code no longer passes, although it was not sent.
        ({"country": "IN"}, [("postalCode", "INVALID_POSTAL_CODE")]),
        # A valid field does not go through when another one is wrong.
        ({"name": "Ravi", "city": "\u200b"}, [("city", "INVALID_CITY")]),
    ],
)
async def test_invalid_changes_are_refused_with_their_fields_and_change_nothing(
    client: httpx.AsyncClient, update: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    user = await make_user("asha@example.com")
    home = await make_address(user)
    abroad = await make_address(
        user, country="GB", postal_code="EC1A 1BB", phone="+44 20 7946 0958"
    )
    token = (await login(client, user.email, DEFAULT_PASSWORD))["accessToken"]
    target = abroad if update.get("country") == "IN" else home
    before = await stored_books()

    body = await graphql(
        client, UPDATE_ADDRESS, {"input": {"id": global_id(target)} | update}, token=token
    )

    assert payload_errors(body, "updateAddress") == expected
    assert body["data"]["updateAddress"]["address"] is None
    assert await stored_books() == before


async def test_a_new_country_is_accepted_with_the_stored_fields_that_fit_it(
    client: httpx.AsyncClient,
) -> None:
    token, address_id = await owner_with_address(client)

    body = await graphql(
        client,
        UPDATE_ADDRESS,
        {"input": {"id": address_id, "country": "sg", "postalCode": "018956"}},
        token=token,
    )

    address = body["data"]["updateAddress"]["address"]
    assert (address["country"], address["postalCode"], address["phone"]) == (
        "SG",
        "018956",
        "+919876543210",
    )


async def test_another_users_address_is_not_found_and_nothing_changes(
    client: httpx.AsyncClient,
) -> None:
    _, asha_address = await owner_with_address(client, "asha@example.com")
    ravi_token, _ = await owner_with_address(client, "ravi@example.com")
    before = await stored_books()

    body = await graphql(
        client, UPDATE_ADDRESS, {"input": {"id": asha_address, "name": "Thief"}}, token=ravi_token
    )

    assert payload_errors(body, "updateAddress") == [("id", "ADDRESS_NOT_FOUND")]
    assert await stored_books() == before


async def test_an_unknown_address_is_not_found_and_a_malformed_id_is_bad_input(
    client: httpx.AsyncClient,
) -> None:
    token, _ = await owner_with_address(client)
    before = await stored_books()
    unknown = str(relay.GlobalID("Address", "0123456789abcdef01234567"))
    product_id = str(relay.GlobalID("Product", "0123456789abcdef01234567"))

    missing = await graphql(
        client, UPDATE_ADDRESS, {"input": {"id": unknown, "name": "Ravi"}}, token=token
    )
    malformed = await graphql(
        client, UPDATE_ADDRESS, {"input": {"id": "nonsense", "name": "Ravi"}}, token=token
    )
    wrong_type = await graphql(
        client, UPDATE_ADDRESS, {"input": {"id": product_id, "name": "Ravi"}}, token=token
    )

    assert payload_errors(missing, "updateAddress") == [("id", "ADDRESS_NOT_FOUND")]
    for body in (malformed, wrong_type):
        assert error_codes(body) == ["BAD_USER_INPUT"]
        assert body["errors"][0]["extensions"]["field"] == "id"
    assert await stored_books() == before


async def test_anonymous_callers_cannot_update_an_address(client: httpx.AsyncClient) -> None:
    _, address_id = await owner_with_address(client)
    before = await stored_books()

    body = await graphql(client, UPDATE_ADDRESS, {"input": {"id": address_id, "name": "Ravi"}})

    assert error_codes(body) == ["UNAUTHENTICATED"]
    assert await stored_books() == before
