"""Accounts in the API: users, sessions, sign-in and recovery mutations, administration."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry import relay
from strawberry.file_uploads import Upload

from documents import accounts as documents
from documents.accounts import AccountErrorCode, Role
from documents.catalog import stored_id
from resolvers.accounts import admin, google, profile, recovery, sessions, signup
from resolvers.accounts.sessions import SignedIn
from resolvers.accounts.viewer import require_viewer
from resolvers.context import Context
from resolvers.pagination import PageArgs
from schema.catalog import AfterArg, BeforeArg, FirstArg, Image, LastArg
from schema.ids import decode_global_id
from schema.info import Info
from schema.pagination import CountedConnection
from schema.payloads import user_errors
from schema.permissions import IsAdmin, IsAuthenticated

strawberry.enum(Role, description="What a user may do: shop, or also run the shop.")
strawberry.enum(AccountErrorCode, description="Why an account operation failed.")


@strawberry.type(
    description="A problem with the input of an account mutation, fixable by the user."
)
class AccountError:
    field: str | None = strawberry.field(description="The input field at fault, if one is.")
    code: AccountErrorCode = strawberry.field(description="Stable code to branch on.")
    message: str = strawberry.field(description="Human-readable explanation.")


@strawberry.type(description="A signed-in device.")
class Session(relay.Node):
    id: relay.NodeID[str]
    user_agent: str = strawberry.field(description="The browser or app that signed in.")
    ip: str = strawberry.field(description="IP address of the latest sign-in or refresh.")
    created_at: datetime = strawberry.field(description="When the device signed in.")
    last_used_at: datetime = strawberry.field(description="When it last refreshed its tokens.")
    current: bool = strawberry.field(description="Whether this is the session of this request.")

    @classmethod
    def from_document(cls, session: documents.AuthSession, *, current_id: object) -> Session:
        return cls(
            id=str(session.id),
            user_agent=session.user_agent,
            ip=session.ip,
            created_at=session.created_at,
            last_used_at=session.last_used_at,
            current=session.id == current_id,
        )


@strawberry.type(description="A customer or an admin.")
class User(relay.Node):
    id: relay.NodeID[str]
    email: str = strawberry.field(description="Sign-in email address.")
    name: str = strawberry.field(description="Display name.")
    mobile: str | None = strawberry.field(description="Phone number.")
    role: Role = strawberry.field(description="USER or ADMIN.")
    email_verified: bool = strawberry.field(
        description="Whether the email address was confirmed; placing orders will need it."
    )
    disabled: bool = strawberry.field(description="Disabled accounts cannot sign in.")
    avatar: Image | None = strawberry.field(description="Profile picture.")
    has_password: bool = strawberry.field(description="False for accounts that only use Google.")
    google_linked: bool = strawberry.field(description="Whether Google sign-in is linked.")
    created_at: datetime = strawberry.field(description="When the account was created.")
    _document: strawberry.Private[documents.User]

    @classmethod
    def from_document(cls, user: documents.User) -> User:
        return cls(
            id=str(user.id),
            email=user.email,
            name=user.name,
            mobile=user.mobile,
            role=user.role,
            email_verified=user.email_verified,
            disabled=user.disabled,
            avatar=Image.from_document(user.avatar) if user.avatar else None,
            has_password=user.password_hash is not None,
            google_linked=user.google_subject is not None,
            created_at=user.created_at,
            _document=user,
        )

    @strawberry.field(description="The user's signed-in devices; only the user may list them.")
    async def sessions(self, info: Info) -> list[Session]:
        viewer = await require_viewer(info.context)
        if viewer.user.id != self._document.id:
            return []
        found = await sessions.active_sessions(info.context, self._document)
        return [Session.from_document(s, current_id=viewer.session.id) for s in found]


@strawberry.type(name="UserConnection", description="A page of users.")
class UserConnection(CountedConnection[User]):
    pass


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
    refresh_token_expires_at: datetime | None = strawberry.field(default=None, description="")
    errors: list[AccountError] = strawberry.field(
        default_factory=list, description="Empty on success."
    )

    @classmethod
    def signed_in(cls, info: Info, signed_in: SignedIn) -> AuthPayload:
        set_refresh_cookie(info.context, signed_in)
        return cls(
            user=User.from_document(signed_in.user),
            access_token=signed_in.access_token,
            access_token_expires_at=signed_in.access_token_expires_at,
            refresh_token=signed_in.refresh_token,
            refresh_token_expires_at=signed_in.refresh_token_expires_at,
        )


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


def _clear_refresh_cookie(ctx: Context) -> None:
    if ctx.response is not None:
        ctx.response.delete_cookie(
            ctx.settings.refresh_cookie_name,
            path="/graphql",
            httponly=True,
            secure=ctx.settings.secure_cookies,
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


@strawberry.input(description="Email and password.")
class LoginInput:
    email: str = strawberry.field(description="Sign-in email.")
    password: str = strawberry.field(description="Password.")


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


def _changes(update: UpdateProfileInput) -> profile.ProfileChanges:
    values = {
        name: getattr(update, name).value
        for name in ("name", "mobile", "email")
        if getattr(update, name) is not None
    }
    return profile.ProfileChanges(**values)


@strawberry.type
class AccountQuery:
    @strawberry.field(description="The signed-in user.", permission_classes=[IsAuthenticated])
    async def me(self, info: Info) -> User:
        return User.from_document((await require_viewer(info.context)).user)

    @strawberry.field(
        description="All users, newest first (admins only).", permission_classes=[IsAdmin]
    )
    async def users(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
        search: Annotated[
            str | None, strawberry.argument(description="Start of the email, or part of the name.")
        ] = None,
    ) -> UserConnection:
        page = await admin.users(
            info.context,
            page=PageArgs(first=first, after=after, last=last, before=before),
            search=search,
        )
        return UserConnection.from_page(page, User.from_document)


@strawberry.type
class AccountMutation:
    @strawberry.mutation(description="Create an account and sign in; a verification email is sent.")
    @user_errors(RegisterPayload, AccountError)
    async def register(self, info: Info, input: RegisterInput) -> RegisterPayload:
        signed_in = await signup.register(
            info.context,
            signup.Registration(
                email=input.email,
                password=input.password,
                name=input.name,
                mobile=input.mobile,
                admin_signup_key=input.admin_signup_key,
            ),
        )
        return RegisterPayload.signed_in(info, signed_in)  # type: ignore[return-value]

    @strawberry.mutation(description="Sign in with email and password.")
    @user_errors(LoginPayload, AccountError)
    async def login(self, info: Info, input: LoginInput) -> LoginPayload:
        signed_in = await signup.login(info.context, input.email, input.password)
        return LoginPayload.signed_in(info, signed_in)  # type: ignore[return-value]

    @strawberry.mutation(
        description="New tokens for a refresh token (argument, else the cookie); the old one dies."
    )
    @user_errors(RefreshTokenPayload, AccountError)
    async def refresh_token(
        self,
        info: Info,
        token: Annotated[
            str | None, strawberry.argument(description="Omit to use the httpOnly cookie.")
        ] = None,
    ) -> RefreshTokenPayload:
        ctx = info.context
        await ctx.services.rate_limiter.check("refresh_token", ip=ctx.client_ip)
        if token is None and ctx.request is not None:
            token = ctx.request.cookies.get(ctx.settings.refresh_cookie_name)
        signed_in = await sessions.rotate(ctx, token)
        return RefreshTokenPayload.signed_in(info, signed_in)  # type: ignore[return-value]

    @strawberry.mutation(description="Sign in with an ID token from Google Identity Services.")
    @user_errors(GoogleLoginPayload, AccountError)
    async def google_login(self, info: Info, id_token: str) -> GoogleLoginPayload:
        signed_in = await google.google_login(info.context, id_token)
        return GoogleLoginPayload.signed_in(info, signed_in)  # type: ignore[return-value]

    @strawberry.mutation(description="Confirm an email address with the token from the email.")
    @user_errors(VerifyEmailPayload, AccountError)
    async def verify_email(self, info: Info, token: str) -> VerifyEmailPayload:
        user = await signup.verify_email(info.context, token)
        return VerifyEmailPayload(user=User.from_document(user))

    @strawberry.mutation(
        description="Send a new verification email to the signed-in user, or to `email`."
    )
    @user_errors(ResendVerificationEmailPayload, AccountError)
    async def resend_verification_email(
        self, info: Info, email: str | None = None
    ) -> ResendVerificationEmailPayload:
        await signup.resend_verification_email(info.context, email)
        return ResendVerificationEmailPayload(ok=True)

    @strawberry.mutation(description="End this session.", permission_classes=[IsAuthenticated])
    @user_errors(LogoutPayload, AccountError)
    async def logout(self, info: Info) -> LogoutPayload:
        viewer = await require_viewer(info.context)
        await sessions.revoke_session(stored_id(viewer.session), reason="signed out")
        _clear_refresh_cookie(info.context)
        return LogoutPayload(ok=True)

    @strawberry.mutation(
        description="End every session of this user.", permission_classes=[IsAuthenticated]
    )
    @user_errors(LogoutAllPayload, AccountError)
    async def logout_all(self, info: Info) -> LogoutAllPayload:
        viewer = await require_viewer(info.context)
        count = await sessions.revoke_sessions(
            stored_id(viewer.user), reason="signed out everywhere"
        )
        _clear_refresh_cookie(info.context)
        return LogoutAllPayload(ok=True, revoked_sessions=count)

    @strawberry.mutation(
        description="End one of this user's sessions.", permission_classes=[IsAuthenticated]
    )
    @user_errors(RevokeSessionPayload, AccountError)
    async def revoke_session(self, info: Info, id: strawberry.ID) -> RevokeSessionPayload:
        viewer = await require_viewer(info.context)
        session_id = decode_global_id(id, "Session")
        found = await info.context.loaders.session_by_id.load(session_id)
        if found is None or found.user_id != viewer.user.id or not found.active:
            raise documents.AccountError(
                AccountErrorCode.SESSION_NOT_FOUND, "No such session", field="id"
            )
        await sessions.revoke_session(found.id, reason="revoked by user")
        return RevokeSessionPayload(ok=True)

    @strawberry.mutation(description="Email a 6-digit code to reset the password.")
    @user_errors(RequestPasswordResetPayload, AccountError)
    async def request_password_reset(self, info: Info, email: str) -> RequestPasswordResetPayload:
        await recovery.request_password_reset(info.context, email)
        return RequestPasswordResetPayload(ok=True)

    @strawberry.mutation(description="Trade the emailed code for a one-time reset token.")
    @user_errors(VerifyPasswordResetOtpPayload, AccountError)
    async def verify_password_reset_otp(
        self, info: Info, input: VerifyPasswordResetOtpInput
    ) -> VerifyPasswordResetOtpPayload:
        token = await recovery.verify_password_reset_otp(info.context, input.email, input.otp)
        return VerifyPasswordResetOtpPayload(reset_token=token)

    @strawberry.mutation(description="Set a new password; every session of the account ends.")
    @user_errors(ResetPasswordPayload, AccountError)
    async def reset_password(self, info: Info, input: ResetPasswordInput) -> ResetPasswordPayload:
        await recovery.reset_password(info.context, input.reset_token, input.new_password)
        return ResetPasswordPayload(ok=True)

    @strawberry.mutation(
        description="Change the password; other sessions end.", permission_classes=[IsAuthenticated]
    )
    @user_errors(ChangePasswordPayload, AccountError)
    async def change_password(
        self, info: Info, input: ChangePasswordInput
    ) -> ChangePasswordPayload:
        user = await recovery.change_password(
            info.context, input.current_password, input.new_password
        )
        return ChangePasswordPayload(user=User.from_document(user))

    @strawberry.mutation(
        description="Change name, mobile or email.", permission_classes=[IsAuthenticated]
    )
    @user_errors(UpdateProfilePayload, AccountError)
    async def update_profile(self, info: Info, input: UpdateProfileInput) -> UpdateProfilePayload:
        user = await profile.update_profile(info.context, _changes(input))
        return UpdateProfilePayload(user=User.from_document(user))

    @strawberry.mutation(
        description="Upload a profile picture (JPEG, PNG or WebP) as a multipart request.",
        permission_classes=[IsAuthenticated],
    )
    @user_errors(UploadAvatarPayload, AccountError)
    async def upload_avatar(self, info: Info, file: Upload) -> UploadAvatarPayload:
        limit = info.context.settings.avatar_max_bytes
        data = await file.read(limit + 1)  # type: ignore[attr-defined]
        user = await profile.upload_avatar(info.context, data)
        return UploadAvatarPayload(user=User.from_document(user))

    @strawberry.mutation(
        description="Make a user an admin or not (admins only).", permission_classes=[IsAdmin]
    )
    @user_errors(SetUserRolePayload, AccountError)
    async def set_user_role(
        self, info: Info, user_id: strawberry.ID, role: Role
    ) -> SetUserRolePayload:
        target = decode_global_id(user_id, "User", field="userId")
        assert target is not None
        user = await admin.set_user_role(info.context, target, role)
        return SetUserRolePayload(user=User.from_document(user))

    @strawberry.mutation(
        description="Disable (sign out everywhere, refuse sign-in) or enable a user (admins only).",
        permission_classes=[IsAdmin],
    )
    @user_errors(SetUserDisabledPayload, AccountError)
    async def set_user_disabled(
        self, info: Info, user_id: strawberry.ID, disabled: bool
    ) -> SetUserDisabledPayload:
        target = decode_global_id(user_id, "User", field="userId")
        assert target is not None
        user = await admin.set_user_disabled(info.context, target, disabled)
        return SetUserDisabledPayload(user=User.from_document(user))
