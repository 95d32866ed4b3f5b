"""Password sign-in, sessions per device, and refresh tokens rotated on every use with reuse
detection."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

from beanie import SortDirection
from bson import ObjectId

from documents.accounts import (
    MAX_EMAIL_LENGTH,
    AccountError,
    AccountErrorCode,
    AuthSession,
    RefreshToken,
    User,
    new_secret_token,
    normalize_email,
    password_matches,
    token_hash,
)
from documents.common import utc_now
from resolvers.context import Context, Viewer


@dataclass(frozen=True)
class SignedIn:
    """What a sign-in or refresh hands the client."""

    user: User
    session: AuthSession
    access_token: str
    access_token_expires_at: datetime
    refresh_token: str
    refresh_token_expires_at: datetime


async def _issue_refresh_token(ctx: Context, session: AuthSession) -> tuple[str, datetime]:
    token = new_secret_token()
    expires_at = session.expires_at
    await RefreshToken(
        token_hash=token_hash(token),
        session_id=session.id,
        user_id=session.user_id,
        expires_at=expires_at,
    ).insert()
    return token, expires_at


async def _signed_in(ctx: Context, user: User, session: AuthSession) -> SignedIn:
    refresh_token, refresh_expires_at = await _issue_refresh_token(ctx, session)
    access_token, access_expires_at = ctx.services.access_tokens.issue(user, session)
    return SignedIn(
        user=user,
        session=session,
        access_token=access_token,
        access_token_expires_at=access_expires_at,
        refresh_token=refresh_token,
        refresh_token_expires_at=refresh_expires_at,
    )


async def start_session(ctx: Context, user: User) -> SignedIn:
    """A new session for this device (user agent and IP of the request) and its first tokens."""
    if user.disabled:
        raise AccountError(AccountErrorCode.ACCOUNT_DISABLED, "This account is disabled")
    session = await AuthSession(
        user_id=user.id,
        user_agent=ctx.user_agent,
        ip=ctx.client_ip,
        expires_at=utc_now() + timedelta(days=ctx.settings.refresh_token_days),
    ).insert()
    return await _signed_in(ctx, user, session)


async def login(ctx: Context, email: str, password: str) -> SignedIn:
    """Sign in with email and password. Wrong email and wrong password get the same answer, in
    about the same time (bcrypt runs either way)."""
    try:
        address = normalize_email(email)
    except AccountError:
        address = email.strip().lower()[:MAX_EMAIL_LENGTH]
    await ctx.services.rate_limiter.check("login", ip=ctx.client_ip, account=address)
    user = await User.find_one(User.email == address)
    matches = await asyncio.to_thread(
        password_matches,
        password,
        user.password_hash if user else None,
        rounds=ctx.settings.bcrypt_rounds,
    )
    if user is None or not matches:
        raise AccountError(AccountErrorCode.INVALID_CREDENTIALS, "Wrong email or password")
    if user.disabled:
        raise AccountError(AccountErrorCode.ACCOUNT_DISABLED, "This account is disabled")
    return await start_session(ctx, user)


async def rotate(ctx: Context, token: str | None) -> SignedIn:
    """Trade a refresh token for new tokens; the old one dies.

    A token that was already rotated is a stolen copy or a replay: the whole session (every
    token derived from the same sign-in) is revoked, so the thief and the victim both sign in again.
    """
    invalid = AccountError(AccountErrorCode.INVALID_REFRESH_TOKEN, "Sign in again", field="token")
    if not token:
        raise invalid
    stored = await RefreshToken.find_one(RefreshToken.token_hash == token_hash(token))
    if stored is None or stored.expires_at <= utc_now():
        raise invalid
    session = await AuthSession.get(stored.session_id)
    if session is None or not session.active:
        raise invalid  # signed out, expired or already revoked: nothing left to protect
    # Only one caller can move a token from unused to rotated; a concurrent second use is reuse.
    claimed = await RefreshToken.get_pymongo_collection().update_one(
        {"_id": stored.id, "rotated_at": None}, {"$set": {"rotated_at": utc_now()}}
    )
    if claimed.modified_count == 0:
        await revoke_session(stored.session_id, reason="refresh token reused")
        raise AccountError(
            AccountErrorCode.REFRESH_TOKEN_REUSED,
            "This sign-in was used from elsewhere and has been ended; sign in again",
            field="token",
        )
    user = await User.get(stored.user_id)
    if user is None:
        raise invalid
    if user.disabled:
        raise AccountError(AccountErrorCode.ACCOUNT_DISABLED, "This account is disabled")
    await session.set({AuthSession.last_used_at: utc_now(), AuthSession.ip: ctx.client_ip})
    return await _signed_in(ctx, user, session)


async def revoke_session(session_id: ObjectId, *, reason: str) -> bool:
    """End one session. Its access tokens fail from the next request on. False if already ended."""
    now = utc_now()
    result = await AuthSession.get_pymongo_collection().update_one(
        {"_id": session_id, "revoked_at": None},
        {"$set": {"revoked_at": now, "revoked_reason": reason}},
    )
    await RefreshToken.get_pymongo_collection().update_many(
        {"session_id": session_id, "rotated_at": None}, {"$set": {"rotated_at": now}}
    )
    return result.modified_count == 1


async def revoke_own_session(ctx: Context, viewer: Viewer, session_id: ObjectId) -> None:
    """End one of the viewer's live sessions. Anyone else's session, an ended one and an unknown
    id all get the same SESSION_NOT_FOUND, so the answer reveals nothing about other users."""
    found = await ctx.loaders.session_by_id.load(session_id)
    owned = found is not None and found.user_id == viewer.user.id and found.active
    # A concurrent revocation of the same session wins the write; this one then finds nothing.
    if not owned or not await revoke_session(session_id, reason="revoked by user"):
        raise AccountError(AccountErrorCode.SESSION_NOT_FOUND, "No such session", field="id")


async def revoke_sessions(user_id: ObjectId, *, reason: str, keep: ObjectId | None = None) -> int:
    """End every session of a user except `keep`; how many were ended."""
    now = utc_now()
    query: dict[str, object] = {"user_id": user_id, "revoked_at": None}
    if keep is not None:
        query["_id"] = {"$ne": keep}
    result = await AuthSession.get_pymongo_collection().update_many(
        query, {"$set": {"revoked_at": now, "revoked_reason": reason}}
    )
    token_query: dict[str, object] = {"user_id": user_id, "rotated_at": None}
    if keep is not None:
        token_query["session_id"] = {"$ne": keep}
    await RefreshToken.get_pymongo_collection().update_many(
        token_query, {"$set": {"rotated_at": now}}
    )
    return result.modified_count


async def active_sessions(ctx: Context, user: User) -> list[AuthSession]:
    """The user's live sessions, most recently used first."""
    return (
        await AuthSession.find(
            AuthSession.user_id == user.id,
            AuthSession.revoked_at == None,  # noqa: E711 - a MongoDB query, not a comparison
            AuthSession.expires_at > utc_now(),
        )
        .sort([("last_used_at", SortDirection.DESCENDING)])
        .limit(100)
        .to_list()
    )
