"""Shipping addresses: one address book per user, the rules an address follows, and every write.

All of a user's addresses live in one `AddressBook` document, so each change is one atomic,
conditional update of that document and its rules hold under concurrent calls without locks:

- at most `limit` addresses: an add appends only while the book has room;
- exactly one default whenever there are any: `default_id` names one of `addresses`. The first
  address becomes the default, deleting the default promotes the most recently added remaining
  one, and `set_default_address` switches only to an address still in the book.

`addresses` is kept in the order the addresses were added, so "most recently added" is the last.
Writes take `session=` and join the caller's transaction when given one (checkout reads an address
with `address_of` in its own).
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pymongo
from beanie import Document, PydanticObjectId
from bson import ObjectId
from pydantic import BaseModel, Field
from pymongo import IndexModel, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession

from documents.common import UNSET, utc_now
from documents.errors import DomainError, InvalidFieldsError
from documents.text import is_visible_text
from documents.transactions import in_transaction

DEFAULT_COUNTRY = "IN"
MAX_NAME_LENGTH = 100
MAX_LINE_LENGTH = 200
MAX_PLACE_LENGTH = 100  # city, state
MAX_POSTAL_CODE_LENGTH = 10
# Every officially assigned ISO 3166-1 alpha-2 code (as listed in tzdata's iso3166.tab).
COUNTRY_CODES = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
    BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE
    EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
    HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC
    LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
    NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
    SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
    TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
    """.split()  # noqa: SIM905 - a list literal would take 249 lines
)
_E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")
_INDIAN_E164 = re.compile(r"^\+91[1-9][0-9]{9}$")  # every Indian number has 10 digits
_INDIAN_MOBILE = re.compile(r"^[6-9][0-9]{9}$")
_PHONE_SEPARATORS = re.compile(r"[\s().-]")
_INDIAN_PIN = re.compile(r"^[1-9][0-9]{5}$")
_POSTAL_CODE = re.compile(r"^[A-Z0-9](?:[A-Z0-9 -]*[A-Z0-9])?$")
# Line breaks and tabs of a pasted address are whitespace to collapse, not characters to refuse.
_COLLAPSIBLE = str.maketrans("\t\n\r", "   ")


class AddressErrorCode(enum.StrEnum):
    """Why an address operation was refused; clients branch on these."""

    INVALID_NAME = "INVALID_NAME"
    INVALID_PHONE = "INVALID_PHONE"
    INVALID_LINE = "INVALID_LINE"
    INVALID_CITY = "INVALID_CITY"
    INVALID_STATE = "INVALID_STATE"
    INVALID_POSTAL_CODE = "INVALID_POSTAL_CODE"
    INVALID_COUNTRY = "INVALID_COUNTRY"
    TOO_MANY_ADDRESSES = "TOO_MANY_ADDRESSES"
    ADDRESS_NOT_FOUND = "ADDRESS_NOT_FOUND"


class AddressError(DomainError):
    """A refused address change; reported in the mutation payload's `errors`."""

    def __init__(self, code: AddressErrorCode, message: str, *, field: str | None = None) -> None:
        super().__init__(code, message, field=field)


class Address(BaseModel):
    """One stored shipping address. Its fields are those of `orders.OrderAddress`, which checkout
    copies them into; `line2` is "" when there is none."""

    id: PydanticObjectId = Field(default_factory=PydanticObjectId)
    name: str
    phone: str  # E.164
    line1: str
    line2: str = ""
    city: str
    state: str
    postal_code: str
    country: str = DEFAULT_COUNTRY  # ISO 3166-1 alpha-2


class AddressBook(Document):
    """All addresses of one user, oldest first, and which one is the default."""

    user_id: PydanticObjectId
    addresses: list[Address] = Field(default_factory=list)
    default_id: PydanticObjectId | None = None
    created_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now)

    def address(self, address_id: object) -> Address | None:
        return next((address for address in self.addresses if address.id == address_id), None)

    def ordered(self) -> list[Address]:
        """The default first, then the newest."""
        return sorted(reversed(self.addresses), key=lambda address: address.id != self.default_id)

    class Settings:
        name = "address_books"
        indexes = [IndexModel([("user_id", pymongo.ASCENDING)], name="user_unique", unique=True)]


ADDRESS_DOCUMENTS: list[type[Document]] = [AddressBook]


@dataclass(frozen=True)
class AddressFields:
    """Fields of an address write; UNSET ones stay as they are (on add: empty, or the default)."""

    name: Any = UNSET
    phone: Any = UNSET
    line1: Any = UNSET
    line2: Any = UNSET  # None or "": no second line
    city: Any = UNSET
    state: Any = UNSET
    postal_code: Any = UNSET
    country: Any = UNSET


@dataclass(frozen=True)
class AddressBookChange:
    """An address book after a write, and the address the write was about."""

    book: AddressBook
    address_id: ObjectId

    @property
    def address(self) -> Address | None:
        """None once the write deleted it."""
        return self.book.address(self.address_id)


def checked_address(fields: AddressFields, current: Address | None = None) -> dict[str, str]:
    """The stored form of every field of the address `fields` make of `current` (or of nothing).

    Every field is checked, including the ones not sent (a new country brings its own postal
    code rule); all problems are raised together, each naming its input field in camelCase. The
    phone number and postal code are judged by the country's rules, so only with a valid one.
    """
    values: dict[str, Any] = (
        current.model_dump(exclude={"id"}) if current else {"country": DEFAULT_COUNTRY}
    )
    for field in dataclasses.fields(fields):
        if (value := getattr(fields, field.name)) is not UNSET:
            values[field.name] = value
    problems: list[DomainError] = []

    def check(checker: Callable[[Any], str], name: str) -> str:
        try:
            return checker(values.get(name))
        except AddressError as problem:
            problems.append(problem)
            return ""

    country = check(_check_country, "country")
    # Judged by the country's rules, so only once it is valid: a local number may be right there.
    by_country = bool(country)
    checked = {
        "name": check(_text(AddressErrorCode.INVALID_NAME, "name", MAX_NAME_LENGTH), "name"),
        "phone": check(lambda value: _check_phone(value, country), "phone") if by_country else "",
        "line1": check(_text(AddressErrorCode.INVALID_LINE, "line1", MAX_LINE_LENGTH), "line1"),
        "line2": check(
            _text(AddressErrorCode.INVALID_LINE, "line2", MAX_LINE_LENGTH, optional=True), "line2"
        ),
        "city": check(_text(AddressErrorCode.INVALID_CITY, "city", MAX_PLACE_LENGTH), "city"),
        "state": check(_text(AddressErrorCode.INVALID_STATE, "state", MAX_PLACE_LENGTH), "state"),
        "postal_code": (
            check(lambda value: _check_postal_code(value, country), "postal_code")
            if by_country
            else ""
        ),
        "country": country,
    }
    if problems:
        # In the order of the form, whatever order they were found in.
        problems.sort(key=lambda problem: _FORM_ORDER.index(problem.field or ""))
        raise InvalidFieldsError(problems)
    return checked


_FORM_ORDER = ("name", "phone", "line1", "line2", "city", "state", "postalCode", "country")


def _text(
    code: AddressErrorCode, field: str, maximum: int, *, optional: bool = False
) -> Callable[[Any], str]:
    """A checker of free text: visible characters, whitespace collapsed, 1 (or, when optional,
    0) to `maximum` characters."""

    def check(value: Any) -> str:
        if value is None and optional:
            return ""
        text = (value if isinstance(value, str) else "").translate(_COLLAPSIBLE)
        cleaned = " ".join(text.split())
        if not is_visible_text(text) or len(cleaned) > maximum or not (cleaned or optional):
            shortest = 0 if optional else 1
            raise AddressError(code, f"Use {shortest} to {maximum} visible characters", field=field)
        return cleaned

    return check


def _check_country(value: object) -> str:
    country = value.strip().upper() if isinstance(value, str) else ""
    if country not in COUNTRY_CODES:
        raise AddressError(
            AddressErrorCode.INVALID_COUNTRY,
            "Use a two-letter ISO 3166-1 country code, such as IN",
            field="country",
        )
    return country


def _check_phone(value: object, country: str) -> str:
    """E.164 (`+`, then 8 to 15 digits; Indian numbers have 10 after +91). In India a 10-digit
    mobile number is taken as +91; elsewhere a local number is ambiguous, so it is refused."""
    text = value if isinstance(value, str) else ""
    phone = _PHONE_SEPARATORS.sub("", text) if is_visible_text(text) else ""
    if country == DEFAULT_COUNTRY and _INDIAN_MOBILE.fullmatch(phone):
        phone = f"+91{phone}"
    if not _E164.fullmatch(phone) or (
        phone.startswith("+91") and not _INDIAN_E164.fullmatch(phone)
    ):
        raise AddressError(
            AddressErrorCode.INVALID_PHONE,
            "Enter the number with its country code (+91 98765 43210), or a 10-digit Indian "
            "mobile number",
            field="phone",
        )
    return phone


def _check_postal_code(value: object, country: str) -> str:
    """An Indian PIN is 6 digits, not starting with 0 ("560 001" is taken as 560001); elsewhere,
    letters, digits, spaces and hyphens."""
    text = value if isinstance(value, str) else ""
    code = " ".join(text.split()).upper()
    if country == DEFAULT_COUNTRY:
        code = code.replace(" ", "")
        valid = bool(_INDIAN_PIN.fullmatch(code))
        message = "Enter a 6-digit PIN code that does not start with 0"
    else:
        valid = len(code) <= MAX_POSTAL_CODE_LENGTH and bool(_POSTAL_CODE.fullmatch(code))
        message = f"Use up to {MAX_POSTAL_CODE_LENGTH} letters, digits, spaces or hyphens"
    if not valid or not is_visible_text(text):
        raise AddressError(AddressErrorCode.INVALID_POSTAL_CODE, message, field="postalCode")
    return code


def _not_found() -> AddressError:
    return AddressError(AddressErrorCode.ADDRESS_NOT_FOUND, "No such address", field="id")


def _collection() -> Any:
    return AddressBook.get_pymongo_collection()


async def address_book(
    user_id: ObjectId, *, session: AsyncClientSession | None = None
) -> AddressBook:
    """The user's address book; an empty one (not stored) if they never added an address."""
    raw = await _collection().find_one({"user_id": user_id}, session=session)
    return AddressBook.model_validate(raw) if raw else AddressBook(user_id=user_id)


async def address_of(
    user_id: ObjectId,
    address_id: ObjectId,
    *,
    session: AsyncClientSession | None = None,
) -> Address | None:
    """The user's address with that id, or None (no such address, or someone else's)."""
    raw = await _collection().find_one(
        {"user_id": user_id, "addresses.id": address_id}, {"addresses.$": 1}, session=session
    )
    return Address.model_validate(raw["addresses"][0]) if raw else None


async def add_address(
    user_id: ObjectId,
    fields: AddressFields,
    *,
    limit: int,
    session: AsyncClientSession | None = None,
) -> AddressBookChange:
    """Add an address; the first one becomes the default. TOO_MANY_ADDRESSES once the book holds
    `limit`. One upsert whose pipeline appends only while there is room, so concurrent adds
    never overshoot and the book is created by whichever comes first."""
    address = Address(**checked_address(fields))
    now = utc_now()
    fits = {"$lt": [{"$size": "$addresses"}, limit]}
    raw = await _collection().find_one_and_update(
        {"user_id": user_id},
        [
            {
                "$set": {
                    "addresses": {"$ifNull": ["$addresses", []]},
                    "created_at": {"$ifNull": ["$created_at", now]},
                }
            },
            {
                "$set": {
                    # $literal: the values are the user's text, never expressions or field paths.
                    "addresses": {
                        "$cond": [
                            fits,
                            {"$concatArrays": ["$addresses", {"$literal": [address.model_dump()]}]},
                            "$addresses",
                        ]
                    },
                    "default_id": {
                        "$cond": [fits, {"$ifNull": ["$default_id", address.id]}, "$default_id"]
                    },
                    "updated_at": {"$cond": [fits, now, "$updated_at"]},
                }
            },
        ],
        upsert=True,
        return_document=ReturnDocument.AFTER,
        session=session,
    )
    change = AddressBookChange(AddressBook.model_validate(raw), address.id)
    if change.address is None:
        raise AddressError(
            AddressErrorCode.TOO_MANY_ADDRESSES,
            f"You can keep at most {limit} addresses; delete one first",
        )
    return change


async def update_address(
    user_id: ObjectId,
    address_id: ObjectId,
    fields: AddressFields,
    *,
    session: AsyncClientSession | None = None,
) -> AddressBookChange:
    """Change the fields given; the rest stay. The address is checked as a whole (a new country
    brings its postal code rule) in a transaction that reads and writes the book, so a
    concurrent change makes it run again on the new address."""

    async def work(session: AsyncClientSession) -> AddressBookChange:
        current = (await address_book(user_id, session=session)).address(address_id)
        if current is None:
            raise _not_found()
        values = checked_address(fields, current)
        raw = await _collection().find_one_and_update(
            {"user_id": user_id, "addresses.id": address_id},
            {
                "$set": {f"addresses.$.{name}": value for name, value in values.items()}
                | {"updated_at": utc_now()}
            },
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        if raw is None:
            raise _not_found()
        return AddressBookChange(AddressBook.model_validate(raw), address_id)

    return await in_transaction(work, session=session)


async def delete_address(
    user_id: ObjectId,
    address_id: ObjectId,
    *,
    session: AsyncClientSession | None = None,
) -> AddressBookChange:
    """Delete an address. Deleting the default makes the most recently added remaining address
    the default, in the same update."""
    raw = await _collection().find_one_and_update(
        {"user_id": user_id, "addresses.id": address_id},
        [
            {
                "$set": {
                    "addresses": {
                        "$filter": {
                            "input": "$addresses",
                            "cond": {"$ne": ["$$this.id", address_id]},
                        }
                    },
                    "updated_at": utc_now(),
                }
            },
            {
                "$set": {
                    "default_id": {
                        "$cond": [
                            {"$eq": ["$default_id", address_id]},
                            {"$ifNull": [{"$last": "$addresses.id"}, None]},
                            "$default_id",
                        ]
                    }
                }
            },
        ],
        return_document=ReturnDocument.AFTER,
        session=session,
    )
    if raw is None:
        raise _not_found()
    return AddressBookChange(AddressBook.model_validate(raw), address_id)


async def set_default_address(
    user_id: ObjectId,
    address_id: ObjectId,
    *,
    session: AsyncClientSession | None = None,
) -> AddressBookChange:
    """Make an address the default; the previous default stops being it in the same update."""
    raw = await _collection().find_one_and_update(
        {"user_id": user_id, "addresses.id": address_id},
        {"$set": {"default_id": address_id, "updated_at": utc_now()}},
        return_document=ReturnDocument.AFTER,
        session=session,
    )
    if raw is None:
        raise _not_found()
    return AddressBookChange(AddressBook.model_validate(raw), address_id)
