"""Account queries and mutations."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.file_uploads import Upload

from documents.accounts import Role
from documents.common import stored_id
from documents.errors import InvalidInputError
from resolvers import cart
from resolvers.accounts import admin, google, profile, recovery, sessions, signup
from resolvers.accounts.devices import DEVICE_COOKIE_NAME
from resolvers.accounts.viewer import require_viewer
from resolvers.pagination import PageArgs
from schema.accounts.payloads import (
    MERGE_CART_HELP,
    ChangePasswordInput,
    ChangePasswordPayload,
    GoogleLoginPayload,
    LoginInput,
    LoginPayload,
    LogoutAllPayload,
    LogoutPayload,
    RefreshTokenPayload,
    RegisterInput,
    RegisterPayload,
    RequestPasswordResetPayload,
    ResendVerificationEmailPayload,
    ResetPasswordInput,
    ResetPasswordPayload,
    RevokeSessionPayload,
    SetUserDisabledPayload,
    SetUserRolePayload,
    UpdateProfileInput,
    UpdateProfilePayload,
    UploadAvatarPayload,
    VerifyEmailPayload,
    VerifyPasswordResetOtpInput,
    VerifyPasswordResetOtpPayload,
    clear_refresh_cookie,
    profile_changes,
)
from schema.accounts.types import AccountError, User, UserConnection
from schema.ids import decode_global_id
from schema.info import Info
from schema.pagination import AfterArg, BeforeArg, FirstArg, LastArg
from schema.payloads import user_errors
from schema.permissions import IsAdmin, IsAuthenticated

USER_ID_HELP = "The user's global ID."


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
        await cart.merge_after_sign_in(info.context, signed_in.user, input.cart_token)
        return RegisterPayload.signed_in(info, signed_in)  # type: ignore[return-value]

    @strawberry.mutation(description="Sign in with email and password.")
    @user_errors(LoginPayload, AccountError)
    async def login(self, info: Info, input: LoginInput) -> LoginPayload:
        ctx = info.context
        device_token = input.device_token
        if device_token is None:
            device_token = ctx.cookie(DEVICE_COOKIE_NAME)
        signed_in = await sessions.login(ctx, input.email, input.password, device_token)
        await cart.merge_after_sign_in(info.context, signed_in.user, input.cart_token)
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
        if token is None:
            token = ctx.cookie(ctx.settings.refresh_cookie_name)
        signed_in = await sessions.rotate(ctx, token)
        return RefreshTokenPayload.signed_in(info, signed_in)  # type: ignore[return-value]

    @strawberry.mutation(description="Sign in with an ID token from Google Identity Services.")
    @user_errors(GoogleLoginPayload, AccountError)
    async def google_login(
        self,
        info: Info,
        id_token: Annotated[
            str,
            strawberry.argument(description="The credential Google Identity Services returned."),
        ],
        cart_token: Annotated[str | None, strawberry.argument(description=MERGE_CART_HELP)] = None,
    ) -> GoogleLoginPayload:
        signed_in = await google.google_login(info.context, id_token)
        await cart.merge_after_sign_in(info.context, signed_in.user, cart_token)
        return GoogleLoginPayload.signed_in(info, signed_in)  # type: ignore[return-value]

    @strawberry.mutation(description="Confirm an email address with the token from the email.")
    @user_errors(VerifyEmailPayload, AccountError)
    async def verify_email(
        self,
        info: Info,
        token: Annotated[str, strawberry.argument(description="The token in the email's link.")],
    ) -> VerifyEmailPayload:
        user = await signup.verify_email(info.context, token)
        return VerifyEmailPayload(user=User.from_document(user))

    @strawberry.mutation(
        description="Send a new verification email to the signed-in user, or to `email`."
    )
    @user_errors(ResendVerificationEmailPayload, AccountError)
    async def resend_verification_email(
        self,
        info: Info,
        email: Annotated[
            str | None,
            strawberry.argument(
                description="The account's email, when not signed in; ignored when signed in."
            ),
        ] = None,
    ) -> ResendVerificationEmailPayload:
        await signup.resend_verification_email(info.context, email)
        return ResendVerificationEmailPayload(ok=True)

    @strawberry.mutation(description="End this session.", permission_classes=[IsAuthenticated])
    @user_errors(LogoutPayload, AccountError)
    async def logout(self, info: Info) -> LogoutPayload:
        viewer = await require_viewer(info.context)
        await sessions.revoke_session(stored_id(viewer.session), reason="signed out")
        clear_refresh_cookie(info.context)
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
        clear_refresh_cookie(info.context)
        return LogoutAllPayload(ok=True, revoked_sessions=count)

    @strawberry.mutation(
        description="End one of this user's sessions.", permission_classes=[IsAuthenticated]
    )
    @user_errors(RevokeSessionPayload, AccountError)
    async def revoke_session(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="The session's global ID (`sessions`).")
        ],
    ) -> RevokeSessionPayload:
        viewer = await require_viewer(info.context)
        session_id = decode_global_id(id, "Session")
        assert session_id is not None
        await sessions.revoke_own_session(info.context, viewer, session_id)
        return RevokeSessionPayload(ok=True)

    @strawberry.mutation(description="Email a 6-digit code to reset the password.")
    @user_errors(RequestPasswordResetPayload, AccountError)
    async def request_password_reset(
        self,
        info: Info,
        email: Annotated[str, strawberry.argument(description="The account's email address.")],
    ) -> RequestPasswordResetPayload:
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
        user = await profile.update_profile(info.context, profile_changes(input))
        return UpdateProfilePayload(user=User.from_document(user))

    @strawberry.mutation(
        description="Upload a profile picture (JPEG, PNG or WebP) as a multipart request.",
        permission_classes=[IsAuthenticated],
    )
    @user_errors(UploadAvatarPayload, AccountError)
    async def upload_avatar(
        self,
        info: Info,
        file: Annotated[
            Upload,
            strawberry.argument(description="The image, as the multipart request's file part."),
        ],
    ) -> UploadAvatarPayload:
        if not hasattr(file, "read"):
            # A plain string where the multipart request spec puts a file.
            raise InvalidInputError("Send the file as a multipart upload", field="file")
        limit = info.context.settings.avatar_max_bytes
        data = await file.read(limit + 1)
        user = await profile.upload_avatar(info.context, data)
        return UploadAvatarPayload(user=User.from_document(user))

    @strawberry.mutation(
        description="Make a user an admin or not (admins only).", permission_classes=[IsAdmin]
    )
    @user_errors(SetUserRolePayload, AccountError)
    async def set_user_role(
        self,
        info: Info,
        user_id: Annotated[strawberry.ID, strawberry.argument(description=USER_ID_HELP)],
        role: Annotated[Role, strawberry.argument(description="The user's new role.")],
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
        self,
        info: Info,
        user_id: Annotated[strawberry.ID, strawberry.argument(description=USER_ID_HELP)],
        disabled: Annotated[
            bool,
            strawberry.argument(description="True to disable the account, false to enable it."),
        ],
    ) -> SetUserDisabledPayload:
        target = decode_global_id(user_id, "User", field="userId")
        assert target is not None
        user = await admin.set_user_disabled(info.context, target, disabled)
        return SetUserDisabledPayload(user=User.from_document(user))
