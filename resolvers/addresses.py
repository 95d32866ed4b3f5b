"""The signed-in user's shipping addresses: reading and changing their own, never anyone else's.

Every operation works on the viewer's address book only, so an address id of another user finds
nothing: the answer is ADDRESS_NOT_FOUND, the same as for an id that never existed.
"""

from __future__ import annotations

from bson import ObjectId

from documents import addresses
from documents.addresses import Address, AddressBook, AddressBookChange, AddressFields
from documents.common import stored_id
from resolvers.accounts.viewer import private_viewer, require_viewer
from resolvers.context import Context


async def address_book_of(ctx: Context, user_id: ObjectId) -> AddressBook:
    """The addresses of `user_id` if that is the viewer; an empty book for anyone else."""
    viewer = await private_viewer(ctx)
    if viewer is None or viewer.user.id != user_id:
        return AddressBook(user_id=user_id)
    return await _viewer_book(ctx, stored_id(viewer.user))


async def address(ctx: Context, address_id: ObjectId) -> tuple[AddressBook, Address] | None:
    """The viewer's address with that id (and its book), or None."""
    viewer = await private_viewer(ctx)
    if viewer is None:
        return None
    book = await _viewer_book(ctx, stored_id(viewer.user))
    found = book.address(address_id)
    return (book, found) if found else None


async def add_address(ctx: Context, fields: AddressFields) -> AddressBookChange:
    """Add an address for the viewer; their first becomes the default."""
    user_id = stored_id((await require_viewer(ctx)).user)
    change = await addresses.add_address(user_id, fields, limit=ctx.settings.max_addresses)
    return _remember(ctx, change)


async def update_address(
    ctx: Context, address_id: ObjectId, fields: AddressFields
) -> AddressBookChange:
    """Change the fields given of one of the viewer's addresses."""
    user_id = stored_id((await require_viewer(ctx)).user)
    change = await addresses.update_address(user_id, address_id, fields)
    return _remember(ctx, change)


async def delete_address(ctx: Context, address_id: ObjectId) -> AddressBookChange:
    """Delete one of the viewer's addresses; a deleted default is replaced by the newest."""
    user_id = stored_id((await require_viewer(ctx)).user)
    change = await addresses.delete_address(user_id, address_id)
    return _remember(ctx, change)


async def set_default_address(ctx: Context, address_id: ObjectId) -> AddressBookChange:
    """Make one of the viewer's addresses their default."""
    user_id = stored_id((await require_viewer(ctx)).user)
    change = await addresses.set_default_address(user_id, address_id)
    return _remember(ctx, change)


async def _viewer_book(ctx: Context, user_id: ObjectId) -> AddressBook:
    book: AddressBook | None = await ctx.loaders.address_book_by_user_id.load(user_id)
    return book or AddressBook(user_id=user_id)


def _remember(ctx: Context, change: AddressBookChange) -> AddressBookChange:
    """Fields read later in this request see the book as the write left it."""
    loader = ctx.loaders.address_book_by_user_id
    loader.clear(change.book.user_id).prime(change.book.user_id, change.book)
    return change
