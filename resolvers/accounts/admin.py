"""User administration: roles, disabling, listing. The schema declares these admin-only."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession

from documents.accounts import (
    AccountError,
    AccountErrorCode,
    AdminGuard,
    Role,
    User,
)
from documents.common import stored_id, utc_now
from documents.errors import InvalidInputError
from documents.text import is_visible_text
from documents.transactions import in_transaction
from resolvers.accounts.sessions import revoke_sessions
from resolvers.context import Context
from resolvers.pagination import Ordering, Page, PageArgs, find_page

_NEWEST_FIRST = Ordering("user_created_-1", "created_at", -1, datetime)
MAX_SEARCH_LENGTH = 100


def _is_active_admin(user: dict[str, Any]) -> bool:
    return user.get("role") == Role.ADMIN and not user.get("disabled", False)


async def _change_active_admins(user_id: ObjectId, changes: dict[str, Any]) -> User:
    """Apply `changes` to a user in a transaction that refuses to leave no active admin.

    Every such transaction first writes the guard document, so two of them cannot both pass the
    check on a snapshot that the other one is about to change. Whether the change removes an
    active admin is decided on the user as the transaction reads it: a read made before it may
    be outdated by a change that committed in between.
    """

    async def apply(session: AsyncClientSession) -> None:
        await AdminGuard.get_pymongo_collection().update_one(
            {"_id": "admins"}, {"$inc": {"changes": 1}}, upsert=True, session=session
        )
        users = User.get_pymongo_collection()
        current = await users.find_one({"_id": user_id}, session=session)
        if current is None:
            raise AccountError(AccountErrorCode.USER_NOT_FOUND, "No such user", field="userId")
        if _is_active_admin(current) and not _is_active_admin({**current, **changes}):
            others = await users.count_documents(
                {"role": Role.ADMIN, "disabled": False, "_id": {"$ne": user_id}}, session=session
            )
            if others == 0:
                raise AccountError(
                    AccountErrorCode.LAST_ADMIN,
                    "The shop needs at least one active admin",
                    field="userId",
                )
        await users.update_one(
            {"_id": user_id}, {"$set": {**changes, "updated_at": utc_now()}}, session=session
        )

    await in_transaction(apply)
    updated = await User.get(user_id)
    assert updated is not None
    return updated


async def _target(user_id: ObjectId) -> User:
    user = await User.get(user_id)
    if user is None:
        raise AccountError(AccountErrorCode.USER_NOT_FOUND, "No such user", field="userId")
    return user


async def set_user_role(ctx: Context, user_id: ObjectId, role: Role) -> User:
    """Promote or demote a user; the last active admin cannot be demoted."""
    user = await _target(user_id)
    if user.role is role:
        return user
    return await _change_active_admins(user_id, {"role": role})


async def set_user_disabled(ctx: Context, user_id: ObjectId, disabled: bool) -> User:
    """Disable (sign out everywhere, refuse sign-in) or re-enable an account."""
    user = await _target(user_id)
    if user.disabled is disabled:
        return user
    updated = await _change_active_admins(user_id, {"disabled": disabled})
    if disabled:
        await revoke_sessions(user_id, reason="account disabled")
    return updated


async def users(ctx: Context, *, page: PageArgs, search: str | None) -> Page[User]:
    """All accounts, newest first; `search` matches the start of the email or any part of the name."""
    page = page.validated()
    conditions: list[dict[str, Any]] = [{}]
    if search and search.strip():
        if len(search) > MAX_SEARCH_LENGTH or not is_visible_text(search):
            raise InvalidInputError(
                f"search takes up to {MAX_SEARCH_LENGTH} visible characters", field="search"
            )
        text = re.escape(search.strip())
        conditions = [
            {
                "$or": [
                    {"email": {"$regex": f"^{text.lower()}"}},
                    {"name": {"$regex": text, "$options": "i"}},
                ]
            }
        ]
    run = ctx.loaders.user_pipelines.load
    return await find_page(run, conditions, _NEWEST_FIRST, page, User.model_validate)


async def make_admin(email: str, *, password_hash: str | None, name: str) -> User:
    """For the command line: promote the account with `email`, or create it as a verified admin."""
    user = await User.find_one(User.email == email)
    if user is None:
        if password_hash is None:
            raise AccountError(
                AccountErrorCode.USER_NOT_FOUND,
                f"No account with {email}; give a password to create one",
            )
        user = await User(
            email=email,
            name=name,
            password_hash=password_hash,
            role=Role.ADMIN,
            email_verified=True,
        ).insert()
        await AdminGuard.get_pymongo_collection().update_one(
            {"_id": "admins"}, {"$inc": {"changes": 1}}, upsert=True
        )
        return user
    return await _change_active_admins(stored_id(user), {"role": Role.ADMIN, "disabled": False})
