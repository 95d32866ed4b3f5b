"""Account types: users, sessions, and the error type of account mutations."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay

from documents import accounts as documents
from documents.accounts import MIN_PASSWORD_LENGTH, AccountErrorCode, Role
from documents.common import stored_id
from resolvers import addresses
from resolvers.accounts import sessions
from resolvers.accounts.viewer import require_viewer
from resolvers.pagination import PageArgs
from resolvers.reviews import reviews_of_user
from schema.addresses import Address
from schema.common import Image
from schema.enums import IMAGE_UPLOAD_CODES, described_enum
from schema.info import Info
from schema.pagination import AfterArg, BeforeArg, CountedConnection, FirstArg, LastArg

if TYPE_CHECKING:
    from schema.reviews import ReviewConnection

described_enum(
    Role,
    "What a user may do: shop, or also run the shop.",
    {
        "USER": "A shopper.",
        "ADMIN": "Also runs the shop: the catalog, stock, orders, reviews and users.",
    },
)
described_enum(
    AccountErrorCode,
    "Why an account operation failed.",
    {
        "INVALID_EMAIL": "Not an email address.",
        "EMAIL_TAKEN": "Another account has this email address.",
        "WEAK_PASSWORD": (
            f"The password is shorter than {MIN_PASSWORD_LENGTH} characters, only digits, or "
            "the email address; the message says which."
        ),
        "INVALID_NAME": "The name is empty or too long.",
        "INVALID_MOBILE": "Not a phone number.",
        "INVALID_CREDENTIALS": "Wrong email or password, or a wrong current password.",
        "ACCOUNT_DISABLED": "An admin disabled the account: it cannot sign in.",
        "INVALID_ADMIN_SIGNUP_KEY": "The admin sign-up key is wrong, or the shop has none.",
        "INVALID_TOKEN": "The email verification link is not valid; ask for a new one.",
        "TOKEN_EXPIRED": "The email verification link has expired; ask for a new one.",
        "INVALID_REFRESH_TOKEN": (
            "The refresh token is missing, unknown or expired, or its session has ended: sign "
            "in again."
        ),
        "REFRESH_TOKEN_REUSED": (
            "A refresh token that was already used came back (a stolen copy or a replay): its "
            "session is ended, sign in again."
        ),
        "INVALID_OTP": "The password reset code is wrong or has expired.",
        "TOO_MANY_ATTEMPTS": "Too many wrong password reset codes: ask for a new one.",
        "INVALID_RESET_TOKEN": (
            "The reset token is unknown, used or expired: start the password reset again."
        ),
        "ALREADY_VERIFIED": "The email address is verified already.",
        "SESSION_NOT_FOUND": "The user has no session with that ID.",
        "USER_NOT_FOUND": "No user has that ID.",
        "LAST_ADMIN": "The change would leave the shop without an active admin.",
        "INVALID_GOOGLE_TOKEN": "Google's ID token is not valid; sign in with Google again.",
        "GOOGLE_EMAIL_NOT_VERIFIED": "Google has not verified the email address.",
        "GOOGLE_ACCOUNT_CONFLICT": (
            "The email address belongs to an account linked to another Google account."
        ),
        "GOOGLE_NOT_CONFIGURED": "Google sign-in is not enabled on this shop.",
        "GOOGLE_UNAVAILABLE": "Google could not be reached; try again.",
        **IMAGE_UPLOAD_CODES,
    },
)


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

    @strawberry.field(
        description=(
            "The user's shipping addresses, the default first, then the newest; only the user "
            "may list them (anyone else gets an empty list)."
        )
    )
    async def addresses(self, info: Info) -> list[Address]:
        book = await addresses.address_book_of(info.context, stored_id(self._document))
        return Address.list_of(book)

    @strawberry.field(
        description="The user's reviews, newest first, hidden ones too; only the user and "
        "admins may list them (anyone else gets an empty list)."
    )
    async def reviews(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
    ) -> Annotated[ReviewConnection, strawberry.lazy("schema.reviews")]:
        from schema.reviews import Review, ReviewConnection  # the review types import this one

        page = await reviews_of_user(
            info.context,
            stored_id(self._document),
            page=PageArgs(first=first, after=after, last=last, before=before),
        )
        return ReviewConnection.from_page(page, Review.from_document)


@strawberry.type(name="UserConnection", description="A page of users.")
class UserConnection(CountedConnection[User]):
    pass
