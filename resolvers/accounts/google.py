"""Sign-in with Google: an ID token from Google Identity Services, or the redirect flow."""

from __future__ import annotations

from pymongo.errors import DuplicateKeyError

from documents.accounts import (
    NAMELESS_CUSTOMER,
    AccountError,
    AccountErrorCode,
    User,
    check_name,
    normalize_email,
)
from documents.common import stored_id, utc_now
from integrations.google import GoogleIdentity, GoogleSignIn, GoogleSignInError
from resolvers.accounts.sessions import SignedIn, revoke_sessions, start_session
from resolvers.context import Context


def google_client(ctx: Context) -> GoogleSignIn:
    if ctx.services.google is None:
        raise AccountError(AccountErrorCode.GOOGLE_NOT_CONFIGURED, "Google sign-in is not enabled")
    return ctx.services.google


def _account_error(error: GoogleSignInError) -> AccountError:
    if error.code == "GOOGLE_UNAVAILABLE":
        return AccountError(
            AccountErrorCode.GOOGLE_UNAVAILABLE, "Google cannot be reached; try again"
        )
    return AccountError(
        AccountErrorCode.INVALID_GOOGLE_TOKEN, "Google sign-in failed; try again", field="idToken"
    )


async def google_login(ctx: Context, id_token: str) -> SignedIn:
    """Sign in with an ID token a single-page app got from Google Identity Services."""
    google = google_client(ctx)
    await ctx.services.rate_limiter.check("google_login", ip=ctx.client_ip)
    try:
        identity = await google.verify_id_token(id_token)
    except GoogleSignInError as error:
        raise _account_error(error) from None
    return await start_session(ctx, await user_for_google_identity(identity))


async def complete_google_redirect(
    ctx: Context, *, code: str, redirect_uri: str, nonce: str
) -> SignedIn:
    """The end of the browser redirect flow: exchange the code, then sign in."""
    google = google_client(ctx)
    try:
        identity = await google.exchange_code(code=code, redirect_uri=redirect_uri, nonce=nonce)
    except GoogleSignInError as error:
        raise _account_error(error) from None
    return await start_session(ctx, await user_for_google_identity(identity))


async def user_for_google_identity(identity: GoogleIdentity) -> User:
    """The account of a Google identity: the one already linked to it, else the account with the
    same (Google-verified) email, which gets linked, else a new verified account."""
    if not identity.email_verified:
        raise AccountError(
            AccountErrorCode.GOOGLE_EMAIL_NOT_VERIFIED, "Verify your email with Google first"
        )
    linked = await User.find_one(User.google_subject == identity.subject)
    if linked is not None:
        return linked
    email = normalize_email(identity.email)
    existing = await User.find_one(User.email == email)
    if existing is not None:
        if existing.google_subject is not None:
            raise AccountError(
                AccountErrorCode.GOOGLE_ACCOUNT_CONFLICT,
                "This email belongs to an account linked to another Google account",
            )
        if existing.disabled:
            # Refused sign-in must not change the account (link it, mark it verified).
            raise AccountError(AccountErrorCode.ACCOUNT_DISABLED, "This account is disabled")
        # Google vouches for the address, so linking also verifies it. Only while still unlinked:
        # another Google account may have linked it since it was read; then decide again.
        changes: dict[str, object] = {
            "google_subject": identity.subject,
            "email_verified": True,
            "updated_at": utc_now(),
        }
        if not existing.email_verified:
            # Whoever registered this address never proved it was theirs; the owner has now. The
            # registrant's password and sessions go, so an account set up in advance by someone
            # else is not handed to its owner with the other person still inside.
            changes["password_hash"] = None
        linked_now = await User.get_pymongo_collection().update_one(
            {"_id": existing.id, "google_subject": None}, {"$set": changes}
        )
        if linked_now.modified_count == 0:
            return await user_for_google_identity(identity)
        if not existing.email_verified:
            await revoke_sessions(stored_id(existing), reason="email claimed through Google")
        linked = await User.get(existing.id)
        assert linked is not None
        return linked
    # Never a part of the email: the name is shown publicly (on reviews).
    name = check_name(identity.name or NAMELESS_CUSTOMER)
    try:
        return await User(
            email=email, name=name, google_subject=identity.subject, email_verified=True
        ).insert()
    except DuplicateKeyError:
        # The same person signing in twice at once: the other request created the account.
        return await user_for_google_identity(identity)
