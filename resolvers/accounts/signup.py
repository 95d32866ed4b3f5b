"""Sign-up and email verification."""

from __future__ import annotations

import asyncio
import hmac
from dataclasses import dataclass
from datetime import timedelta

from pymongo.errors import DuplicateKeyError

from documents.accounts import (
    AccountError,
    AccountErrorCode,
    CodePurpose,
    OneTimeCode,
    Role,
    User,
    check_mobile,
    check_name,
    check_password_policy,
    hash_password,
    new_secret_token,
    normalize_email,
    token_hash,
)
from documents.common import utc_now
from resolvers.accounts import emails
from resolvers.accounts.sessions import SignedIn, start_session
from resolvers.accounts.viewer import current_viewer
from resolvers.context import Context

# The rate-limit identity all tries at ADMIN_SIGNUP_KEY share (`admin_signup:account`).
ADMIN_SIGNUP_KEY_GUESSES = "ADMIN_SIGNUP_KEY"


@dataclass(frozen=True)
class Registration:
    email: str
    password: str
    name: str
    mobile: str | None = None
    admin_signup_key: str | None = None


def _email_taken(field: str = "email") -> AccountError:
    return AccountError(
        AccountErrorCode.EMAIL_TAKEN, "An account with this email exists", field=field
    )


async def register(ctx: Context, registration: Registration) -> SignedIn:
    """Create an account, send the verification email, and sign the new user in."""
    email = normalize_email(registration.email)
    await ctx.services.rate_limiter.check("register", ip=ctx.client_ip, account=email)
    name = check_name(registration.name)
    mobile = check_mobile(registration.mobile)
    check_password_policy(registration.password, email=email)
    if registration.admin_signup_key is not None:
        # The key makes admins: every try at it, from anywhere, counts against one budget.
        await ctx.services.rate_limiter.check(
            "admin_signup", ip=ctx.client_ip, account=ADMIN_SIGNUP_KEY_GUESSES
        )
    role = _role_for_signup_key(ctx, registration.admin_signup_key)
    password_hash = await asyncio.to_thread(
        hash_password, registration.password, rounds=ctx.settings.bcrypt_rounds
    )
    user = User(email=email, name=name, mobile=mobile, password_hash=password_hash, role=role)
    try:
        await user.insert()
    except DuplicateKeyError:
        raise _email_taken() from None
    await send_verification_email(ctx, user)
    return await start_session(ctx, user)


def _role_for_signup_key(ctx: Context, key: str | None) -> Role:
    if key is None:
        return Role.USER
    expected = ctx.settings.admin_signup_key
    if expected is None or not hmac.compare_digest(
        key.encode(), expected.get_secret_value().encode()
    ):
        raise AccountError(
            AccountErrorCode.INVALID_ADMIN_SIGNUP_KEY,
            "The admin sign-up key is not valid",
            field="adminSignupKey",
        )
    return Role.ADMIN


async def send_verification_email(ctx: Context, user: User) -> None:
    """A fresh verification link for the user's current email; earlier links stop working."""
    token = new_secret_token()
    await OneTimeCode.get_pymongo_collection().update_many(
        {"purpose": CodePurpose.VERIFY_EMAIL, "user_id": user.id, "used_at": None},
        {"$set": {"used_at": utc_now()}},
    )
    await OneTimeCode(
        purpose=CodePurpose.VERIFY_EMAIL,
        email=user.email,
        user_id=user.id,
        code_hash=token_hash(token),
        expires_at=utc_now() + timedelta(hours=ctx.settings.email_verification_hours),
    ).insert()
    await emails.deliver(
        ctx, emails.verification_email(ctx, to=user.email, name=user.name, token=token)
    )


async def verify_email(ctx: Context, token: str) -> User:
    """Mark the address the link was sent to as verified. Each link works once."""
    invalid = AccountError(
        AccountErrorCode.INVALID_TOKEN, "This link is not valid; ask for a new one", field="token"
    )
    code = await OneTimeCode.find_one(
        OneTimeCode.purpose == CodePurpose.VERIFY_EMAIL, OneTimeCode.code_hash == token_hash(token)
    )
    if code is None or code.user_id is None or code.used_at is not None:
        raise invalid
    if code.expires_at <= utc_now():
        raise AccountError(
            AccountErrorCode.TOKEN_EXPIRED,
            "This link has expired; ask for a new one",
            field="token",
        )
    claimed = await OneTimeCode.get_pymongo_collection().update_one(
        {"_id": code.id, "used_at": None}, {"$set": {"used_at": utc_now()}}
    )
    if claimed.modified_count == 0:
        raise invalid
    # Only the address the link went to, checked in the same write that verifies it: an email
    # change landing between a read and the write must not get the new address verified.
    verified = await User.get_pymongo_collection().find_one_and_update(
        {"_id": code.user_id, "email": code.email},
        {"$set": {"email_verified": True, "updated_at": utc_now()}},
        return_document=True,
    )
    if verified is None:
        raise invalid
    return User.model_validate(verified)


async def resend_verification_email(ctx: Context, email: str | None) -> None:
    """Send a new link to the signed-in user, or to `email`. The answer is the same whether or not
    an unverified account has that address, so it reveals nothing."""
    viewer = await current_viewer(ctx)
    address = viewer.user.email if viewer else normalize_email(email or "")
    await ctx.services.rate_limiter.check(
        "resend_verification_email", ip=ctx.client_ip, account=address
    )
    if viewer and viewer.user.email_verified:
        raise AccountError(
            AccountErrorCode.ALREADY_VERIFIED, "This email address is already verified"
        )
    user = viewer.user if viewer else await User.find_one(User.email == address)
    if user is not None and not user.email_verified and not user.disabled:
        await send_verification_email(ctx, user)
