"""Password reset by emailed one-time code, and password change."""

from __future__ import annotations

import asyncio
import hmac
from datetime import timedelta

from documents.accounts import (
    AccountError,
    AccountErrorCode,
    CodePurpose,
    OneTimeCode,
    User,
    check_password_policy,
    hash_password,
    keyed_hash,
    new_otp,
    new_secret_token,
    normalize_email,
    password_matches,
    token_hash,
)
from documents.common import stored_id, utc_now
from resolvers.accounts import emails
from resolvers.accounts.sessions import revoke_sessions
from resolvers.accounts.viewer import require_viewer
from resolvers.context import Context


def _otp_hash(ctx: Context, email: str, otp: str) -> str:
    return keyed_hash(ctx.settings.jwt_secret.get_secret_value().encode(), "otp", email, otp)


async def request_password_reset(ctx: Context, email: str) -> None:
    """Email a 6-digit code if an account has this address.

    Known and unknown addresses do the same database work (an unknown one's email is recorded
    in the outbox, not sent) and get the same answer; the email is handed to the job queue after
    the response. So neither the answer nor its timing tells whether an account exists.
    """
    address = normalize_email(email)
    await ctx.services.rate_limiter.check(
        "request_password_reset", ip=ctx.client_ip, account=address
    )
    user = await User.find_one(User.email == address)
    otp = new_otp()
    usable = user is not None and not user.disabled
    await OneTimeCode.get_pymongo_collection().update_many(
        {"purpose": CodePurpose.PASSWORD_RESET_OTP, "email": address, "used_at": None},
        {"$set": {"used_at": utc_now()}},
    )
    await OneTimeCode(
        purpose=CodePurpose.PASSWORD_RESET_OTP,
        email=address,
        user_id=user.id if usable and user else None,
        code_hash=_otp_hash(ctx, address, otp),
        expires_at=utc_now() + timedelta(minutes=ctx.settings.password_reset_minutes),
    ).insert()
    # Unknown and disabled addresses get the same writes: their email is recorded, not sent.
    await emails.deliver(ctx, emails.password_reset_email(ctx, to=address, otp=otp), send=usable)


async def verify_password_reset_otp(ctx: Context, email: str, otp: str) -> str:
    """Trade a correct code for a one-time reset token. Five wrong tries end the code."""
    address = normalize_email(email)
    await ctx.services.rate_limiter.check(
        "verify_password_reset_otp", ip=ctx.client_ip, account=address
    )
    invalid = AccountError(
        AccountErrorCode.INVALID_OTP, "The code is wrong or has expired", field="otp"
    )
    max_attempts = ctx.settings.password_reset_max_attempts
    # Count the attempt before checking it, atomically, so parallel guesses cannot exceed the cap.
    code = await OneTimeCode.get_pymongo_collection().find_one_and_update(
        {
            "purpose": CodePurpose.PASSWORD_RESET_OTP,
            "email": address,
            "used_at": None,
            "expires_at": {"$gt": utc_now()},
        },
        {"$inc": {"attempts": 1}},
        sort=[("created_at", -1)],
        return_document=True,
    )
    if code is None:
        raise invalid
    if code["attempts"] > max_attempts:
        raise AccountError(
            AccountErrorCode.TOO_MANY_ATTEMPTS,
            "Too many wrong codes; ask for a new one",
            field="otp",
        )
    if not hmac.compare_digest(code["code_hash"], _otp_hash(ctx, address, otp.strip())):
        raise invalid
    claimed = await OneTimeCode.get_pymongo_collection().update_one(
        {"_id": code["_id"], "used_at": None}, {"$set": {"used_at": utc_now()}}
    )
    if claimed.modified_count == 0 or code.get("user_id") is None:
        raise invalid
    reset_token = new_secret_token()
    await OneTimeCode(
        purpose=CodePurpose.PASSWORD_RESET_TOKEN,
        email=address,
        user_id=code["user_id"],
        code_hash=token_hash(reset_token),
        expires_at=utc_now() + timedelta(minutes=ctx.settings.password_reset_minutes),
    ).insert()
    return reset_token


async def reset_password(ctx: Context, reset_token: str, new_password: str) -> User:
    """Set a new password with a reset token (once), and end every session of the account."""
    invalid = AccountError(
        AccountErrorCode.INVALID_RESET_TOKEN, "Start the password reset again", field="resetToken"
    )
    code = await OneTimeCode.find_one(
        OneTimeCode.purpose == CodePurpose.PASSWORD_RESET_TOKEN,
        OneTimeCode.code_hash == token_hash(reset_token),
    )
    if (
        code is None
        or code.used_at is not None
        or code.expires_at <= utc_now()
        or code.user_id is None
    ):
        raise invalid
    user = await User.get(code.user_id)
    if user is None or user.disabled:
        raise invalid
    check_password_policy(new_password, email=user.email, field="newPassword")
    claimed = await OneTimeCode.get_pymongo_collection().update_one(
        {"_id": code.id, "used_at": None}, {"$set": {"used_at": utc_now()}}
    )
    if claimed.modified_count == 0:
        raise invalid
    await _set_password(ctx, user, new_password)
    await revoke_sessions(stored_id(user), reason="password reset")
    return user


async def change_password(ctx: Context, current_password: str, new_password: str) -> User:
    """Change the signed-in user's password; their other sessions end, this one stays."""
    viewer = await require_viewer(ctx)
    user = viewer.user
    # Each try costs a bcrypt hash and is a guess at the current password: both need a cap.
    await ctx.services.rate_limiter.check("change_password", ip=ctx.client_ip, account=str(user.id))
    matches = await asyncio.to_thread(
        password_matches, current_password, user.password_hash, rounds=ctx.settings.bcrypt_rounds
    )
    if not matches:
        raise AccountError(
            AccountErrorCode.INVALID_CREDENTIALS,
            "The current password is wrong",
            field="currentPassword",
        )
    check_password_policy(new_password, email=user.email, field="newPassword")
    await _set_password(ctx, user, new_password)
    await revoke_sessions(
        stored_id(user), reason="password changed", keep=stored_id(viewer.session)
    )
    return user


async def _set_password(ctx: Context, user: User, password: str) -> None:
    password_hash = await asyncio.to_thread(
        hash_password, password, rounds=ctx.settings.bcrypt_rounds
    )
    now = utc_now()
    await user.set(
        {User.password_hash: password_hash, User.password_changed_at: now, User.updated_at: now}
    )
    await emails.deliver(ctx, emails.password_changed_email(ctx, to=user.email, name=user.name))
