"""Inputs and payloads of the account mutations, and the refresh-token cookie."""

from __future__ import annotations

from datetime import datetime

import strawberry

from documents.common import utc_now
from resolvers.accounts import profile
from resolvers.accounts.devices import DEVICE_COOKIE_NAME
from resolvers.accounts.sessions import SignedIn
from resolvers.context import Context
from schema.accounts.types import AccountError, User
from schema.info import Info


def set_refresh_cookie(ctx: Context, signed_in: SignedIn) -> None:
    """The refresh token as an httpOnly cookie, sent only to /graphql."""
    if ctx.response is None:
        return
    settings = ctx.settings
    ctx.response.set_cookie(
        settings.refresh_cookie_name,
        signed_in.refresh_token,
        max_age=int(
            (signed_in.refresh_token_expires_at - signed_in.session.created_at).total_seconds()
        ),
        path="/graphql",
        httponly=True,
        secure=settings.secure_cookies,
        samesite=settings.refresh_cookie_samesite,  # type: ignore[arg-type]
    )


def set_device_cookie(ctx: Context, signed_in: SignedIn) -> None:
    """The device token of a sign-in as a long-lived httpOnly cookie, sent only to /graphql,
    with the refresh cookie's SameSite (it must reach `login` wherever the frontend is)."""
    device = signed_in.device_token
    if ctx.response is None or device is None:
        return
    ctx.response.set_cookie(
        DEVICE_COOKIE_NAME,
        device.value,
        max_age=max(int((device.expires_at - utc_now()).total_seconds()), 0),
        path="/graphql",
        httponly=True,
        secure=ctx.settings.secure_cookies,
        samesite=ctx.settings.refresh_cookie_samesite,  # type: ignore[arg-type]
    )


def set_sign_in_cookies(ctx: Context, signed_in: SignedIn) -> None:
    """The refresh cookie, and after a sign-in the device cookie."""
    set_refresh_cookie(ctx, signed_in)
    set_device_cookie(ctx, signed_in)


def clear_refresh_cookie(ctx: Context) -> None:
    if ctx.response is not None:
        ctx.response.delete_cookie(
            ctx.settings.refresh_cookie_name,
            path="/graphql",
            httponly=True,
            secure=ctx.settings.secure_cookies,
        )


@strawberry.type(description="Tokens of a signed-in session, and errors.")
class AuthPayload:
    user: User | None = strawberry.field(default=None, description="The signed-in user.")
    access_token: str | None = strawberry.field(
        default=None, description="Send as `Authorization: Bearer <token>`."
    )
    access_token_expires_at: datetime | None = strawberry.field(
        default=None, description="When to refresh."
    )
    refresh_token: str | None = strawberry.field(
        default=None,
        description="For BFF and native clients; browsers get it as an httpOnly cookie too.",
    )
    refresh_token_expires_at: datetime | None = strawberry.field(
        default=None,
        description=(
            "When the session ends (UTC): the refresh token and every one it is rotated into "
            "stop working then, and the user signs in again."
        ),
    )
    device_token: str | None = strawberry.field(
        default=None,
        description=(
            "Proof that this device signed in to this account: pass it to `login` as "
            "`deviceToken` so that someone guessing this account's password elsewhere does not "
            "lock this device out (BFF and native clients; browsers get it as an httpOnly "
            "cookie). Not a credential. Null from `refreshToken`."
        ),
    )
    errors: list[AccountError] = strawberry.field(
        default_factory=list, description="Empty on success."
    )

    @classmethod
    def signed_in(cls, info: Info, signed_in: SignedIn) -> AuthPayload:
        set_sign_in_cookies(info.context, signed_in)
        return cls(
            user=User.from_document(signed_in.user),
            access_token=signed_in.access_token,
            access_token_expires_at=signed_in.access_token_expires_at,
            refresh_token=signed_in.refresh_token,
            refresh_token_expires_at=signed_in.refresh_token_expires_at,
            device_token=signed_in.device_token.value if signed_in.device_token else None,
        )


@strawberry.type(description="Result of `register`.")
class RegisterPayload(AuthPayload):
    pass


@strawberry.type(description="Result of `login`.")
class LoginPayload(AuthPayload):
    pass


@strawberry.type(description="Result of `refreshToken`.")
class RefreshTokenPayload(AuthPayload):
    pass


@strawberry.type(description="Result of `googleLogin`.")
class GoogleLoginPayload(AuthPayload):
    pass


@strawberry.type(description="Result of a mutation that changes a user.")
class UserPayload:
    user: User | None = strawberry.field(default=None, description="The user after the change.")
    errors: list[AccountError] = strawberry.field(
        default_factory=list, description="Empty on success."
    )


@strawberry.type(description="Result of `verifyEmail`.")
class VerifyEmailPayload(UserPayload):
    pass


@strawberry.type(description="Result of `changePassword`.")
class ChangePasswordPayload(UserPayload):
    pass


@strawberry.type(description="Result of `updateProfile`.")
class UpdateProfilePayload(UserPayload):
    pass


@strawberry.type(description="Result of `uploadAvatar`.")
class UploadAvatarPayload(UserPayload):
    pass


@strawberry.type(description="Result of `setUserRole`.")
class SetUserRolePayload(UserPayload):
    pass


@strawberry.type(description="Result of `setUserDisabled`.")
class SetUserDisabledPayload(UserPayload):
    pass


@strawberry.type(description="Result of a mutation with nothing to return but errors.")
class DonePayload:
    ok: bool = strawberry.field(default=False, description="True when it was done.")
    errors: list[AccountError] = strawberry.field(
        default_factory=list, description="Empty on success."
    )


@strawberry.type(
    description="Result of `resendVerificationEmail`; the same whether or not an account exists."
)
class ResendVerificationEmailPayload(DonePayload):
    pass


@strawberry.type(
    description="Result of `requestPasswordReset`; the same whether or not an account exists."
)
class RequestPasswordResetPayload(DonePayload):
    pass


@strawberry.type(description="Result of `resetPassword`. Every session of the account has ended.")
class ResetPasswordPayload(DonePayload):
    pass


@strawberry.type(description="Result of `logout`.")
class LogoutPayload(DonePayload):
    pass


@strawberry.type(description="Result of `revokeSession`.")
class RevokeSessionPayload(DonePayload):
    pass


@strawberry.type(description="Result of `logoutAll`.")
class LogoutAllPayload(DonePayload):
    revoked_sessions: int = strawberry.field(default=0, description="How many sessions ended.")


@strawberry.type(description="Result of `verifyPasswordResetOtp`.")
class VerifyPasswordResetOtpPayload:
    reset_token: str | None = strawberry.field(
        default=None, description="Pass to `resetPassword`; works once, for 15 minutes."
    )
    errors: list[AccountError] = strawberry.field(
        default_factory=list, description="Empty on success."
    )


MERGE_CART_HELP = (
    "A guest cart token (else the X-Cart-Token header): that cart is merged into the user's cart."
)


@strawberry.input(description="A new account.")
class RegisterInput:
    email: str = strawberry.field(description="Sign-in email; normalized to lower case.")
    password: str = strawberry.field(
        description="At least 8 characters, not only digits, not the email."
    )
    name: str = strawberry.field(description="Display name.")
    mobile: str | None = strawberry.field(default=None, description="Phone number.")
    admin_signup_key: str | None = strawberry.field(
        default=None, description="The shop's ADMIN_SIGNUP_KEY, to create an admin."
    )
    cart_token: str | None = strawberry.field(default=None, description=MERGE_CART_HELP)


@strawberry.input(description="Email and password.")
class LoginInput:
    email: str = strawberry.field(description="Sign-in email.")
    password: str = strawberry.field(description="Password.")
    cart_token: str | None = strawberry.field(default=None, description=MERGE_CART_HELP)
    device_token: str | None = strawberry.field(
        default=None,
        description=(
            "The `deviceToken` an earlier sign-in on this device returned; omit to use the "
            "httpOnly cookie."
        ),
    )


@strawberry.input(description="The code from the password reset email.")
class VerifyPasswordResetOtpInput:
    email: str = strawberry.field(description="The email the code was sent to.")
    otp: str = strawberry.field(description="The 6-digit code.")


@strawberry.input(description="A new password, with the token from `verifyPasswordResetOtp`.")
class ResetPasswordInput:
    reset_token: str = strawberry.field(description="From `verifyPasswordResetOtp`.")
    new_password: str = strawberry.field(description="The new password.")


@strawberry.input(description="The current and a new password.")
class ChangePasswordInput:
    current_password: str = strawberry.field(description="The current password.")
    new_password: str = strawberry.field(description="The new password.")


@strawberry.input(description="Profile fields to change; omitted fields stay as they are.")
class UpdateProfileInput:
    name: strawberry.Maybe[str | None] = strawberry.field(description="Display name.")
    mobile: strawberry.Maybe[str | None] = strawberry.field(
        description="Phone number; null clears it."
    )
    email: strawberry.Maybe[str | None] = strawberry.field(
        description="A new email; it must be verified again."
    )


def profile_changes(update: UpdateProfileInput) -> profile.ProfileChanges:
    values = {
        name: getattr(update, name).value
        for name in ("name", "mobile", "email")
        if getattr(update, name) is not None
    }
    return profile.ProfileChanges(**values)
