"""Loaders for address books."""

from __future__ import annotations

from documents.addresses import AddressBook
from loaders.documents import DocumentByFieldLoader


class AddressBookByUserIdLoader(DocumentByFieldLoader):
    """A user's address book, or None before their first address."""

    document = AddressBook
    key_field = "user_id"
