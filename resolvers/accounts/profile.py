"""The signed-in user's profile and avatar."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from pymongo.errors import DuplicateKeyError

from documents.accounts import (
    AccountError,
    AccountErrorCode,
    CodePurpose,
    OneTimeCode,
    User,
    check_mobile,
    check_name,
    normalize_email,
)
from documents.common import Image, stored_id, utc_now
from integrations.images import ImageStoreError, InvalidImageError
from resolvers.accounts.signup import send_verification_email
from resolvers.accounts.viewer import require_viewer
from resolvers.context import Context

logger = logging.getLogger(__name__)
AVATAR_FOLDER = "avatars"
UNSET = object()


@dataclass(frozen=True)
class ProfileChanges:
    """Only the fields present change; `mobile=None` clears the number."""

    name: object = field(default=UNSET)
    mobile: object = field(default=UNSET)
    email: object = field(default=UNSET)


async def update_profile(ctx: Context, changes: ProfileChanges) -> User:
    """Change name, mobile or email. A new email must be verified again: a link goes to it."""
    user = (await require_viewer(ctx)).user
    updates: dict[str, object] = {}
    if changes.name is not UNSET:
        updates["name"] = check_name(str(changes.name or ""))
    if changes.mobile is not UNSET:
        updates["mobile"] = check_mobile(
            changes.mobile if isinstance(changes.mobile, str) else None
        )
    email_changed = False
    if changes.email is not UNSET:
        email = normalize_email(str(changes.email or ""))
        if email != user.email:
            # Each change mails a link, with the user's chosen name, to any address: cap it.
            await ctx.services.rate_limiter.check(
                "change_email", ip=ctx.client_ip, account=str(user.id)
            )
            updates |= {"email": email, "email_verified": False}
            email_changed = True
    if not updates:
        return user
    updates["updated_at"] = utc_now()
    try:
        await User.get_pymongo_collection().update_one({"_id": user.id}, {"$set": updates})
    except DuplicateKeyError:
        raise AccountError(
            AccountErrorCode.EMAIL_TAKEN, "An account with this email exists", field="email"
        ) from None
    updated = await User.get(user.id)
    assert updated is not None
    if (updated.name, updated.email) != (user.name, user.email):
        # Their reviews show the name (and admins the email).
        await ctx.query_cache.user_changed(stored_id(user))
    if email_changed:
        # Codes mailed to the old address must not reset the password of the account any more.
        await OneTimeCode.get_pymongo_collection().update_many(
            {"user_id": user.id, "purpose": {"$ne": CodePurpose.VERIFY_EMAIL}, "used_at": None},
            {"$set": {"used_at": utc_now()}},
        )
        await send_verification_email(ctx, updated)
    return updated


async def upload_avatar(ctx: Context, data: bytes) -> User:
    """Store a new avatar (JPEG, PNG or WebP, checked by content) and delete the previous one."""
    user = (await require_viewer(ctx)).user
    try:
        stored = await ctx.services.images.save(
            data, folder=AVATAR_FOLDER, max_bytes=ctx.settings.avatar_max_bytes
        )
    except InvalidImageError as error:
        raise AccountError(AccountErrorCode(error.code), str(error), field="file") from None
    except ImageStoreError as error:
        logger.error("avatar upload failed: %s", error)
        raise AccountError(
            AccountErrorCode.IMAGE_STORE_UNAVAILABLE,
            "The image could not be stored; try again",
            field="file",
        ) from None
    # Read the id now: `user.set` merges into the nested model in place, so `user.avatar` (and
    # any reference to it) would name the new file afterwards.
    previous_id = user.avatar.public_id if user.avatar else None
    avatar = Image(
        url=stored.url,
        alt=user.name,
        width=stored.width,
        height=stored.height,
        public_id=stored.public_id,
    )
    await user.set({User.avatar: avatar, User.updated_at: utc_now()})
    if previous_id:
        try:
            await ctx.services.images.delete(previous_id)
        except ImageStoreError as error:
            # The new avatar is saved; an orphaned old file is a cost, not a failure for the user.
            logger.warning("old avatar %s not deleted: %s", previous_id, error)
    return user
