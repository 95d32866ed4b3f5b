"""Password sign-in, sessions per device, and refresh tokens rotated on every use with reuse
detection (and a short grace for the same client: two tabs refreshing at once)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import datetime, timedelta

from beanie import SortDirection
from bson import ObjectId
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

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
from documents.common import stored_id, utc_now
from resolvers.accounts.devices import DeviceToken, issue_device_token, read_device_token
from resolvers.context import Context, Viewer
from resolvers.rate_limits import client_network


@dataclass(frozen=True)
class SignedIn:
    """What a sign-in or refresh hands the client."""

    user: User
    session: AuthSession
    access_token: str
    access_token_expires_at: datetime
    refresh_token: str
    refresh_token_expires_at: datetime
    # Proof that this device signed in to this account (sign-ins only; None on refresh).
    device_token: DeviceToken | None = None


async def _issue_refresh_token(session: AuthSession) -> tuple[RefreshToken, str]:
    token = new_secret_token()
    stored = await RefreshToken(
        token_hash=token_hash(token),
        session_id=session.id,
        user_id=session.user_id,
        expires_at=session.expires_at,
    ).insert()
    return stored, token


async def start_session(ctx: Context, user: User) -> SignedIn:
    """A new session for this device (user agent and IP of the request), its first tokens, and a
    device token that spares this device the account-wide sign-in limits from now on."""
    if user.disabled:
        raise AccountError(AccountErrorCode.ACCOUNT_DISABLED, "This account is disabled")
    session = await AuthSession(
        user_id=user.id,
        user_agent=ctx.user_agent,
        ip=ctx.client_ip,
        expires_at=utc_now() + timedelta(days=ctx.settings.refresh_token_days),
    ).insert()
    _, refresh_token = await _issue_refresh_token(session)
    access_token, access_expires_at = ctx.services.access_tokens.issue(user, session)
    return SignedIn(
        user=user,
        session=session,
        access_token=access_token,
        access_token_expires_at=access_expires_at,
        refresh_token=refresh_token,
        refresh_token_expires_at=session.expires_at,
        device_token=issue_device_token(ctx.settings, stored_id(user)),
    )


async def login(
    ctx: Context, email: str, password: str, device_token: str | None = None
) -> SignedIn:
    """Sign in with email and password. Wrong email and wrong password get the same answer, in
    about the same time (bcrypt runs either way).

    With a `device_token` this account issued to this device, the attempt counts against the
    device's own limit instead of the account's (`resolvers.accounts.devices`)."""
    try:
        address = normalize_email(email)
    except AccountError:
        address = email.strip().lower()[:MAX_EMAIL_LENGTH]
    claim = read_device_token(ctx.settings, device_token)
    # Only a correctly signed device token costs a lookup before the limits are checked.
    user = await User.find_one(User.email == address) if claim else None
    device = claim.of(user) if claim else None
    await ctx.services.rate_limiter.check("login", ip=ctx.client_ip, account=address, device=device)
    if claim is None:
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
    token derived from the same sign-in) is revoked, so the thief and the victim both sign in
    again. Except within REFRESH_TOKEN_REUSE_GRACE_SECONDS of its first use, from the same client
    (user agent and network): two tabs refreshing at once then both get the tokens the first use
    got, and the session lives on.
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
    user = await User.get(stored.user_id)
    if user is None:
        raise invalid
    if user.disabled:
        raise AccountError(AccountErrorCode.ACCOUNT_DISABLED, "This account is disabled")
    client = _client_fingerprint(ctx)
    if stored.rotated_at is None:
        signed_in = await _rotate_once(ctx, stored, token, user, session, client)
        if signed_in is not None:
            return signed_in
        # Another request rotated it a moment ago: look at what it left.
        stored = await RefreshToken.get(stored.id)
        if stored is None:
            raise invalid
    again = _same_tokens_again(ctx, stored, token, user, session, client)
    if again is not None:
        return again
    await revoke_session(stored.session_id, reason="refresh token reused")
    raise AccountError(
        AccountErrorCode.REFRESH_TOKEN_REUSED,
        "This sign-in was used from elsewhere and has been ended; sign in again",
        field="token",
    )


async def _rotate_once(
    ctx: Context, stored: RefreshToken, token: str, user: User, session: AuthSession, client: str
) -> SignedIn | None:
    """Claim `stored` and hand out its successor; None if another request claimed it first."""
    # The successor exists before the claim: a request that loses the race may hand it out
    # at once, and it must work even if this request dies right after the claim.
    successor, refresh_token = await _issue_refresh_token(session)
    access_token, access_expires_at = ctx.services.access_tokens.issue(user, session)
    sealed = _seal(
        token,
        {
            "refresh": refresh_token,
            "access": access_token,
            "expires": access_expires_at.isoformat(),
        },
    )
    # Only one caller can move a token from unused to rotated, with the tokens it handed out.
    claimed = await RefreshToken.get_pymongo_collection().update_one(
        {"_id": stored.id, "rotated_at": None},
        {"$set": {"rotated_at": utc_now(), "rotated_by": client, "successor": sealed}},
    )
    if claimed.modified_count == 0:
        await successor.delete()
        return None
    await session.set({AuthSession.last_used_at: utc_now(), AuthSession.ip: ctx.client_ip})
    return SignedIn(
        user=user,
        session=session,
        access_token=access_token,
        access_token_expires_at=access_expires_at,
        refresh_token=refresh_token,
        refresh_token_expires_at=session.expires_at,
    )


def _same_tokens_again(
    ctx: Context, stored: RefreshToken, token: str, user: User, session: AuthSession, client: str
) -> SignedIn | None:
    """The tokens the first use of `stored` got, if this reuse is within the grace window and
    from the same client; None otherwise (the reuse is then treated as theft)."""
    grace = timedelta(seconds=ctx.settings.refresh_token_reuse_grace_seconds)
    if (
        not grace
        or stored.rotated_at is None
        or stored.successor is None
        or stored.rotated_by is None
        or utc_now() - stored.rotated_at > grace
        or not hmac.compare_digest(stored.rotated_by, client)
    ):
        return None
    tokens = _unseal(token, stored.successor)
    if tokens is None:
        return None
    return SignedIn(
        user=user,
        session=session,
        access_token=tokens["access"],
        access_token_expires_at=datetime.fromisoformat(tokens["expires"]),
        refresh_token=tokens["refresh"],
        refresh_token_expires_at=session.expires_at,
    )


def _client_fingerprint(ctx: Context) -> str:
    """Who used a refresh token: its user agent and network, hashed (the session keeps both)."""
    return token_hash(f"{ctx.user_agent}\x1f{client_network(ctx.client_ip)}")


# The tokens a rotation handed out are kept for the grace window, encrypted with a key derived
# from the rotated token itself. Only the hash of that token is stored, so the database alone
# cannot open them: only someone presenting the old token can.
def _successor_key(token: str) -> bytes:
    return hmac.new(token.encode(), b"refresh token successor", hashlib.sha256).digest()


def _seal(token: str, tokens: dict[str, str]) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(_successor_key(token)).encrypt(nonce, json.dumps(tokens).encode(), None)


def _unseal(token: str, sealed: bytes) -> dict[str, str] | None:
    try:
        opened = AESGCM(_successor_key(token)).decrypt(sealed[:12], sealed[12:], None)
    except (InvalidTag, ValueError):
        return None
    tokens: dict[str, str] = json.loads(opened)
    return tokens


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
