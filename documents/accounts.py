"""Accounts: users, signed-in sessions, refresh tokens and one-time codes, and their rules."""

from __future__ import annotations

import enum
import functools
import hashlib
import hmac
import re
import secrets
from datetime import datetime
from typing import Annotated

import bcrypt
import pymongo
from beanie import Document, PydanticObjectId
from pydantic import Field
from pymongo import IndexModel

from documents.common import Image, utc_now
from documents.errors import DomainError
from documents.text import is_visible_text

MAX_PASSWORD_BYTES = 72  # bcrypt ignores anything longer
MIN_PASSWORD_LENGTH = 8
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,253}\.[^@\s.]{2,63}$")
_MOBILE = re.compile(r"^\+?[0-9][0-9 -]{6,18}[0-9]$")


class Role(enum.StrEnum):
    USER = "USER"
    ADMIN = "ADMIN"


class AccountErrorCode(enum.StrEnum):
    """What went wrong with an account operation; clients branch on these."""

    INVALID_EMAIL = "INVALID_EMAIL"
    EMAIL_TAKEN = "EMAIL_TAKEN"
    WEAK_PASSWORD = "WEAK_PASSWORD"
    INVALID_NAME = "INVALID_NAME"
    INVALID_MOBILE = "INVALID_MOBILE"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    ACCOUNT_DISABLED = "ACCOUNT_DISABLED"
    INVALID_ADMIN_SIGNUP_KEY = "INVALID_ADMIN_SIGNUP_KEY"
    INVALID_TOKEN = "INVALID_TOKEN"
    TOKEN_EXPIRED = "TOKEN_EXPIRED"
    INVALID_REFRESH_TOKEN = "INVALID_REFRESH_TOKEN"
    REFRESH_TOKEN_REUSED = "REFRESH_TOKEN_REUSED"
    INVALID_OTP = "INVALID_OTP"
    TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"
    INVALID_RESET_TOKEN = "INVALID_RESET_TOKEN"
    ALREADY_VERIFIED = "ALREADY_VERIFIED"
    SESSION_NOT_FOUND = "SESSION_NOT_FOUND"
    USER_NOT_FOUND = "USER_NOT_FOUND"
    LAST_ADMIN = "LAST_ADMIN"
    INVALID_GOOGLE_TOKEN = "INVALID_GOOGLE_TOKEN"
    GOOGLE_EMAIL_NOT_VERIFIED = "GOOGLE_EMAIL_NOT_VERIFIED"
    GOOGLE_ACCOUNT_CONFLICT = "GOOGLE_ACCOUNT_CONFLICT"
    GOOGLE_NOT_CONFIGURED = "GOOGLE_NOT_CONFIGURED"
    GOOGLE_UNAVAILABLE = "GOOGLE_UNAVAILABLE"
    UNSUPPORTED_IMAGE_TYPE = "UNSUPPORTED_IMAGE_TYPE"
    IMAGE_TOO_LARGE = "IMAGE_TOO_LARGE"
    INVALID_IMAGE = "INVALID_IMAGE"
    IMAGE_STORE_UNAVAILABLE = "IMAGE_STORE_UNAVAILABLE"


class AccountError(DomainError):
    """A failure the user can act on; reported in the mutation payload's `errors`."""

    def __init__(self, code: AccountErrorCode, message: str, *, field: str | None = None) -> None:
        super().__init__(code, message, field=field)


class User(Document):
    """A customer or an admin. `password_hash` is None for accounts that only use Google."""

    email: str
    name: Annotated[str, Field(max_length=120)]
    mobile: str | None = None
    password_hash: str | None = None
    role: Role = Role.USER
    email_verified: bool = False
    disabled: bool = False
    avatar: Image | None = None
    google_subject: str | None = None
    created_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now)
    password_changed_at: datetime | None = None

    class Settings:
        name = "users"
        indexes = [
            IndexModel([("email", pymongo.ASCENDING)], name="email_unique", unique=True),
            IndexModel(
                [("google_subject", pymongo.ASCENDING)],
                name="google_subject_unique",
                unique=True,
                partialFilterExpression={"google_subject": {"$type": "string"}},
            ),
            IndexModel([("role", pymongo.ASCENDING), ("disabled", pymongo.ASCENDING)], name="role"),
            IndexModel(
                [("created_at", pymongo.DESCENDING), ("_id", pymongo.DESCENDING)], name="newest"
            ),
        ]


class AuthSession(Document):
    """One signed-in device. Revoking it ends its refresh tokens and its access tokens."""

    user_id: PydanticObjectId
    user_agent: Annotated[str, Field(max_length=512)] = ""
    ip: str = ""
    created_at: datetime = Field(default_factory=utc_now)
    last_used_at: datetime = Field(default_factory=utc_now)
    expires_at: datetime
    revoked_at: datetime | None = None
    revoked_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None and self.expires_at > utc_now()

    class Settings:
        name = "sessions"
        indexes = [
            IndexModel(
                [("user_id", pymongo.ASCENDING), ("revoked_at", pymongo.ASCENDING)], name="user"
            ),
            # Sessions disappear a week after they expire; revoked ones are kept until then too.
            IndexModel(
                [("expires_at", pymongo.ASCENDING)], name="expiry", expireAfterSeconds=7 * 86400
            ),
        ]


class RefreshToken(Document):
    """One refresh token of a session, stored as a hash. Used once: rotation sets `rotated_at`.

    Rotation also records who used it (`rotated_by`, a hash of user agent and network) and the
    tokens it handed out (`successor`, encrypted with a key only the token itself gives), so that
    the same client using it again within a few seconds gets the same tokens back."""

    token_hash: str
    session_id: PydanticObjectId
    user_id: PydanticObjectId
    created_at: datetime = Field(default_factory=utc_now)
    expires_at: datetime
    rotated_at: datetime | None = None
    rotated_by: str | None = None
    successor: bytes | None = None

    class Settings:
        name = "refresh_tokens"
        indexes = [
            IndexModel([("token_hash", pymongo.ASCENDING)], name="token_unique", unique=True),
            IndexModel([("session_id", pymongo.ASCENDING)], name="session"),
            IndexModel([("expires_at", pymongo.ASCENDING)], name="expiry", expireAfterSeconds=0),
        ]


class CodePurpose(enum.StrEnum):
    VERIFY_EMAIL = "VERIFY_EMAIL"
    PASSWORD_RESET_OTP = "PASSWORD_RESET_OTP"
    PASSWORD_RESET_TOKEN = "PASSWORD_RESET_TOKEN"


class OneTimeCode(Document):
    """An emailed secret (link token or OTP), or a reset token, stored as a keyed hash."""

    purpose: CodePurpose
    email: str
    user_id: PydanticObjectId | None = None
    code_hash: str
    attempts: int = 0
    created_at: datetime = Field(default_factory=utc_now)
    expires_at: datetime
    used_at: datetime | None = None

    class Settings:
        name = "one_time_codes"
        indexes = [
            IndexModel(
                [
                    ("purpose", pymongo.ASCENDING),
                    ("email", pymongo.ASCENDING),
                    ("created_at", pymongo.DESCENDING),
                ],
                name="latest_for_email",
            ),
            IndexModel(
                [("purpose", pymongo.ASCENDING), ("code_hash", pymongo.ASCENDING)], name="by_hash"
            ),
            IndexModel([("expires_at", pymongo.ASCENDING)], name="expiry", expireAfterSeconds=0),
        ]


class AdminGuard(Document):
    """A single document every change to the set of active admins writes inside its transaction.

    Two transactions demoting two different admins would otherwise not conflict, and could both
    commit, leaving none: writing here makes one of them retry and see the other's change.
    """

    changes: int = 0

    class Settings:
        name = "admin_guard"


ACCOUNT_DOCUMENTS: list[type[Document]] = [User, AuthSession, RefreshToken, OneTimeCode, AdminGuard]


MAX_EMAIL_LENGTH = 254


def normalize_email(email: str, *, field: str = "email") -> str:
    """Lower-cased and trimmed; refuses what is not an address."""
    normalized = email.strip().lower()
    if (
        len(normalized) > MAX_EMAIL_LENGTH
        or not _EMAIL.fullmatch(normalized)
        or not is_visible_text(normalized)
    ):
        raise AccountError(
            AccountErrorCode.INVALID_EMAIL, "Enter a valid email address", field=field
        )
    return normalized


# The name of an account whose sign-in brought none (a Google account without a profile name).
NAMELESS_CUSTOMER = "Customer"


def check_name(name: str, *, field: str = "name") -> str:
    cleaned = " ".join(name.split())
    if not 1 <= len(cleaned) <= 120 or any(not ch.isprintable() for ch in cleaned):
        raise AccountError(
            AccountErrorCode.INVALID_NAME, "Enter a name of 1 to 120 characters", field=field
        )
    return cleaned


def check_mobile(mobile: str | None, *, field: str = "mobile") -> str | None:
    if mobile is None or not mobile.strip():
        return None
    cleaned = mobile.strip()
    if not _MOBILE.fullmatch(cleaned):
        raise AccountError(
            AccountErrorCode.INVALID_MOBILE, "Enter a valid phone number", field=field
        )
    return cleaned


def check_password_policy(password: str, *, email: str, field: str = "password") -> None:
    """At least 8 characters, not only digits, not the email (or its local part)."""
    lowered = password.lower()
    problem = None
    if len(password) < MIN_PASSWORD_LENGTH:
        problem = f"Use at least {MIN_PASSWORD_LENGTH} characters"
    elif len(password.encode()) > MAX_PASSWORD_BYTES:
        problem = f"Use at most {MAX_PASSWORD_BYTES} bytes"
    elif password.isdigit():
        problem = "Use more than digits"
    elif lowered in (email.lower(), email.lower().split("@")[0]):
        problem = "Do not use your email address as the password"
    if problem:
        raise AccountError(AccountErrorCode.WEAK_PASSWORD, problem, field=field)


def hash_password(password: str, *, rounds: int) -> str:
    """bcrypt with a fresh salt; slow on purpose (run it in a thread)."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds)).decode()


def password_matches(password: str, password_hash: str | None, *, rounds: int) -> bool:
    """Constant-time bcrypt check. With no hash (unknown email, Google-only account) it still
    spends the time a real check takes, so the answer's timing does not reveal which it was."""
    candidate = password.encode()[:MAX_PASSWORD_BYTES]
    if password_hash is None:
        bcrypt.checkpw(candidate, _dummy_hash(rounds))
        return False
    return bcrypt.checkpw(candidate, password_hash.encode())


@functools.cache
def _dummy_hash(rounds: int) -> bytes:
    return bcrypt.hashpw(b"no password here", bcrypt.gensalt(rounds))


def new_secret_token() -> str:
    """An opaque, URL-safe token with 256 bits of randomness."""
    return secrets.token_urlsafe(32)


def new_otp() -> str:
    """A 6-digit one-time password."""
    return f"{secrets.randbelow(10**6):06d}"


def token_hash(token: str) -> str:
    """Tokens with 256 bits of entropy need no salt or slow hash: SHA-256 is enough."""
    return hashlib.sha256(token.encode()).hexdigest()


def keyed_hash(secret: bytes, *parts: str) -> str:
    """HMAC for short secrets (OTPs): without the server key the hash cannot be brute-forced."""
    return hmac.new(secret, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()
