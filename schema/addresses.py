"""Shipping addresses in the API: the `Address` type, and the signed-in user's address mutations."""

from __future__ import annotations

from typing import Annotated, Self

import strawberry
from strawberry import relay

from documents import addresses as documents
from documents.addresses import AddressErrorCode, AddressFields
from resolvers import addresses
from schema.common import maybe_value
from schema.enums import described_enum
from schema.ids import decode_global_id
from schema.info import Info
from schema.payloads import user_errors
from schema.permissions import IsAuthenticated

described_enum(
    AddressErrorCode,
    "Why an address operation failed.",
    {
        "INVALID_NAME": "The recipient's name is empty or too long.",
        "INVALID_PHONE": (
            "Not a phone number with its country code, nor a 10-digit Indian mobile number."
        ),
        "INVALID_LINE": "The street line is empty (`line1`) or too long.",
        "INVALID_CITY": "The city is empty or too long.",
        "INVALID_STATE": "The state is empty or too long.",
        "INVALID_POSTAL_CODE": "Not a postal code of the country (a 6-digit PIN code in India).",
        "INVALID_COUNTRY": "Not a two-letter ISO 3166-1 country code.",
        "TOO_MANY_ADDRESSES": "The user keeps as many addresses as allowed: delete one first.",
        "ADDRESS_NOT_FOUND": "The user has no address with that ID.",
    },
)


@strawberry.type(description="A problem with an address mutation, fixable by the user.")
class AddressError:
    field: str | None = strawberry.field(description="The input field at fault, if one is.")
    code: AddressErrorCode = strawberry.field(description="Stable code to branch on.")
    message: str = strawberry.field(description="Human-readable explanation.")


@strawberry.type(description="A shipping address of the signed-in user.")
class Address(relay.Node):
    id: relay.NodeID[str]
    name: str = strawberry.field(description="Who receives the parcel.")
    phone: str = strawberry.field(description="Phone number in E.164 form (+919876543210).")
    line1: str = strawberry.field(description="House, building and street.")
    line2: str | None = strawberry.field(description="Area or landmark; null if none.")
    city: str = strawberry.field(description="City or town.")
    state: str = strawberry.field(description="State or union territory.")
    postal_code: str = strawberry.field(description="PIN code in India, else the postal code.")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 country code, e.g. IN.")
    is_default: bool = strawberry.field(
        description="Whether this is the default address; exactly one is, while any exist."
    )

    @classmethod
    def from_document(cls, address: documents.Address, *, book: documents.AddressBook) -> Address:
        return cls(
            id=str(address.id),
            name=address.name,
            phone=address.phone,
            line1=address.line1,
            line2=address.line2 or None,
            city=address.city,
            state=address.state,
            postal_code=address.postal_code,
            country=address.country,
            is_default=address.id == book.default_id,
        )

    @classmethod
    def list_of(cls, book: documents.AddressBook) -> list[Address]:
        """The book's addresses, the default first, then the newest."""
        return [cls.from_document(address, book=book) for address in book.ordered()]


@strawberry.input(description="A new shipping address.")
class AddAddressInput:
    name: str = strawberry.field(description="Who receives the parcel; 1 to 100 characters.")
    phone: str = strawberry.field(
        description="With its country code (+91 98765 43210); in India, a 10-digit mobile number."
    )
    line1: str = strawberry.field(description="House, building and street; 1 to 200 characters.")
    line2: str | None = strawberry.field(
        default=None, description="Area or landmark; up to 200 characters."
    )
    city: str = strawberry.field(description="City or town; 1 to 100 characters.")
    state: str = strawberry.field(description="State or union territory; 1 to 100 characters.")
    postal_code: str = strawberry.field(
        description="In India a 6-digit PIN code not starting with 0; elsewhere up to 10 "
        "letters, digits, spaces or hyphens."
    )
    country: str = strawberry.field(
        default=documents.DEFAULT_COUNTRY, description="ISO 3166-1 alpha-2 country code."
    )


@strawberry.input(description="Address fields to change; omitted fields stay as they are.")
class UpdateAddressInput:
    id: strawberry.ID = strawberry.field(description="The address.")
    name: strawberry.Maybe[str | None] = strawberry.field(description="Who receives the parcel.")
    phone: strawberry.Maybe[str | None] = strawberry.field(description="Phone number.")
    line1: strawberry.Maybe[str | None] = strawberry.field(description="House, building, street.")
    line2: strawberry.Maybe[str | None] = strawberry.field(
        description="Area or landmark; null clears it."
    )
    city: strawberry.Maybe[str | None] = strawberry.field(description="City or town.")
    state: strawberry.Maybe[str | None] = strawberry.field(description="State or union territory.")
    postal_code: strawberry.Maybe[str | None] = strawberry.field(description="PIN or postal code.")
    country: strawberry.Maybe[str | None] = strawberry.field(
        description="ISO 3166-1 alpha-2 country code."
    )


def _update_fields(update: UpdateAddressInput) -> AddressFields:
    names = ("name", "phone", "line1", "line2", "city", "state", "postal_code", "country")
    return AddressFields(**{name: maybe_value(getattr(update, name)) for name in names})


@strawberry.type(description="Result of a mutation that changes an address.")
class AddressPayload:
    address: Address | None = strawberry.field(
        default=None, description="The address after the change."
    )
    addresses: list[Address] | None = strawberry.field(
        default=None,
        description="All the user's addresses after the change, the default first.",
    )
    errors: list[AddressError] = strawberry.field(
        default_factory=list, description="Empty on success."
    )

    @classmethod
    def of(cls, change: documents.AddressBookChange) -> Self:
        found = change.address
        return cls(
            address=Address.from_document(found, book=change.book) if found else None,
            addresses=Address.list_of(change.book),
        )


@strawberry.type(description="Result of `addAddress`.")
class AddAddressPayload(AddressPayload):
    pass


@strawberry.type(description="Result of `updateAddress`.")
class UpdateAddressPayload(AddressPayload):
    pass


@strawberry.type(description="Result of `setDefaultAddress`.")
class SetDefaultAddressPayload(AddressPayload):
    pass


@strawberry.type(description="Result of `deleteAddress`.")
class DeleteAddressPayload:
    deleted_id: strawberry.ID | None = strawberry.field(default=None, description="The deleted ID.")
    addresses: list[Address] | None = strawberry.field(
        default=None,
        description="The user's remaining addresses, the default (perhaps a new one) first.",
    )
    errors: list[AddressError] = strawberry.field(
        default_factory=list, description="Empty on success."
    )


AddressIdArg = Annotated[strawberry.ID, strawberry.argument(description="The address.")]


@strawberry.type
class AddressMutation:
    @strawberry.mutation(
        description="Add a shipping address; the first one becomes the default.",
        permission_classes=[IsAuthenticated],
    )
    @user_errors(AddAddressPayload, AddressError)
    async def add_address(self, info: Info, input: AddAddressInput) -> AddAddressPayload:
        fields = AddressFields(
            name=input.name,
            phone=input.phone,
            line1=input.line1,
            line2=input.line2,
            city=input.city,
            state=input.state,
            postal_code=input.postal_code,
            country=input.country,
        )
        change = await addresses.add_address(info.context, fields)
        return AddAddressPayload.of(change)

    @strawberry.mutation(
        description="Change fields of one of your addresses.", permission_classes=[IsAuthenticated]
    )
    @user_errors(UpdateAddressPayload, AddressError)
    async def update_address(self, info: Info, input: UpdateAddressInput) -> UpdateAddressPayload:
        address_id = decode_global_id(input.id, "Address", field="id")
        assert address_id is not None
        change = await addresses.update_address(info.context, address_id, _update_fields(input))
        return UpdateAddressPayload.of(change)

    @strawberry.mutation(
        description="Delete one of your addresses; if it was the default, the most recently "
        "added remaining one becomes the default.",
        permission_classes=[IsAuthenticated],
    )
    @user_errors(DeleteAddressPayload, AddressError)
    async def delete_address(self, info: Info, id: AddressIdArg) -> DeleteAddressPayload:
        address_id = decode_global_id(id, "Address", field="id")
        assert address_id is not None
        change = await addresses.delete_address(info.context, address_id)
        return DeleteAddressPayload(
            deleted_id=strawberry.ID(str(relay.GlobalID("Address", str(address_id)))),
            addresses=Address.list_of(change.book),
        )

    @strawberry.mutation(
        description="Make one of your addresses the default.", permission_classes=[IsAuthenticated]
    )
    @user_errors(SetDefaultAddressPayload, AddressError)
    async def set_default_address(self, info: Info, id: AddressIdArg) -> SetDefaultAddressPayload:
        address_id = decode_global_id(id, "Address", field="id")
        assert address_id is not None
        change = await addresses.set_default_address(info.context, address_id)
        return SetDefaultAddressPayload.of(change)
